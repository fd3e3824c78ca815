//! `forcefit gradcheck` on the shared PbTe data: the table, gradcheck.csv
//! and gradcheck.png, and the agreement it measures.

mod common;

use std::process::Command;

#[test]
fn gradcheck_on_pbte() {
    let (Some(model), Some(data)) = (
        common::shared("datasets/pbte/nep.txt"),
        common::shared("datasets/pbte/train.xyz"),
    ) else {
        return;
    };
    let dir = common::TempDir::new("gradcheck");
    let o = Command::new(env!("CARGO_BIN_EXE_forcefit"))
        .args(["gradcheck", "-m"])
        .arg(&model)
        .arg(&data)
        .args(["--structures", "2", "--out-dir"])
        .arg(dir.path())
        .output()
        .expect("run forcefit");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("Err[∇L]") && stdout.contains("central differences"));
    let csv = std::fs::read_to_string(dir.path().join("gradcheck.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // 2 models × 2 scalings × 9 ε, then one finite-difference row per model.
    assert_eq!(rows.len(), 2 * 2 * 9 + 2, "{csv}");
    for model in ["trained", "random"] {
        let best = rows
            .iter()
            .filter(|r| r[0] == model && r[1] == "max")
            .map(|r| r[3].parse::<f64>().unwrap())
            .fold(f64::INFINITY, f64::min);
        assert!(best <= 1e-7, "{model}: best Err[∇L] {best:e}\n{stdout}");
        let fd = rows.iter().find(|r| r[0] == model && r[1] == "fd").unwrap();
        assert!(fd[3].parse::<f64>().unwrap() < 1e-5, "{stdout}");
    }
    let png = std::fs::read(dir.path().join("gradcheck.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn gradcheck_rejects_zero_structures() {
    let o = Command::new(env!("CARGO_BIN_EXE_forcefit"))
        .args([
            "gradcheck",
            "-m",
            "nep.txt",
            "data.xyz",
            "--structures",
            "0",
        ])
        .output()
        .expect("run forcefit");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--structures"));
}
