//! deepmd-kit itself as an oracle: `tests/oracle/deepmd_eval.py` run by
//! the Python that imports it (tests skip without one).

use forcefit::structure::Structure;
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

/// The Python interpreter (`$FORCEFIT_PYTHON`, else `python3`) if it
/// imports deepmd-kit; `None`, with a "skipping" message, if not.
pub fn python() -> Option<String> {
    let py = std::env::var("FORCEFIT_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import deepmd.dpmodel"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "skipping: deepmd-kit is not importable by {py} (pip install deepmd-kit, or set FORCEFIT_PYTHON)"
        );
    }
    ok.then_some(py)
}

/// One frame of a request to `tests/oracle/deepmd_eval.py`.
pub fn frame_json(s: &Structure, types: &[usize]) -> Value {
    json!({
        "coord": s.positions.iter().flatten().collect::<Vec<_>>(),
        "cell": if s.pbc.iter().any(|&p| p) { s.cell.map(|c| c.iter().flatten().copied().collect::<Vec<f64>>()) } else { None },
        "atype": types,
    })
}

/// Runs `tests/oracle/deepmd_eval.py` on `request`; its JSON answer.
pub fn run(py: &str, request: &Value) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/deepmd_eval.py");
    let mut child = Command::new(py)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}
