//! Helpers shared by the `io_*` integration tests.
#![allow(dead_code)]

use forcefit::structure::Structure;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// `shared/<rel>`: from `$FORCEFIT_SHARED` if set, else `../shared` next
/// to the crate, else the nearest ancestor directory holding
/// `shared/datasets` (so that git worktrees nested deeper find it too).
/// `None`, with a "skipping" message on stderr, when it is absent.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(env) = std::env::var_os("FORCEFIT_SHARED") {
        roots.push(PathBuf::from(env));
    }
    roots.push(manifest.join("..").join("shared"));
    roots.extend(manifest.ancestors().skip(2).map(|a| a.join("shared")));
    for root in &roots {
        if root.join("datasets").is_dir() {
            let p = root.join(rel);
            if p.exists() {
                return Some(p);
            }
        }
    }
    eprintln!(
        "skipping: ../shared not found ({rel} is absent; the shared data sets live in \
         ../shared, or set FORCEFIT_SHARED)"
    );
    None
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `forcefit-io-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("forcefit-io-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `content` to `name` (parent directories created) and returns
    /// the full path.
    pub fn file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Asserts `r` is an error whose message contains every needle (set
/// `SHOW_ERRORS=1` to print the messages).
#[track_caller]
pub fn assert_err<T: Debug>(r: forcefit::Result<T>, needles: &[&str]) -> String {
    let msg = match r {
        Ok(v) => panic!("expected an error containing {needles:?}, got Ok({v:?})"),
        Err(e) => e.to_string(),
    };
    if std::env::var_os("SHOW_ERRORS").is_some() {
        eprintln!("{msg}");
    }
    for n in needles {
        assert!(msg.contains(n), "error message lacks {n:?}:\n  {msg}");
    }
    msg
}

/// Asserts two structures are identical bit for bit (origin excluded).
#[track_caller]
pub fn assert_same(a: &Structure, b: &Structure) {
    let ctx = format!("{} vs {}", a.origin, b.origin);
    assert_eq!(a.species, b.species, "{ctx}: species");
    assert_eq!(a.pbc, b.pbc, "{ctx}: pbc");
    assert_eq!(bits3(&a.positions), bits3(&b.positions), "{ctx}: positions");
    assert_eq!(
        a.cell.map(|c| bits3(&c)),
        b.cell.map(|c| bits3(&c)),
        "{ctx}: cell"
    );
    let (la, lb) = (&a.labels, &b.labels);
    assert_eq!(
        la.energy.map(f64::to_bits),
        lb.energy.map(f64::to_bits),
        "{ctx}: energy"
    );
    assert_eq!(
        la.forces.as_ref().map(|f| bits3(f)),
        lb.forces.as_ref().map(|f| bits3(f)),
        "{ctx}: forces"
    );
    assert_eq!(
        la.virial.map(|v| v.map(f64::to_bits)),
        lb.virial.map(|v| v.map(f64::to_bits)),
        "{ctx}: virial"
    );
    assert_eq!(la.weight.to_bits(), lb.weight.to_bits(), "{ctx}: weight");
    assert_eq!(la.config_type, lb.config_type, "{ctx}: config_type");
}

fn bits3(v: &[[f64; 3]]) -> Vec<[u64; 3]> {
    v.iter().map(|r| r.map(f64::to_bits)).collect()
}

/// Writes an `.npy` file with the element type's default dtype.
pub fn npy<T: npyz::AutoSerialize + Clone>(path: &Path, shape: &[u64], data: &[T]) {
    use npyz::WriterBuilder;
    let mut buf = Vec::new();
    {
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut buf)
            .begin_nd()
            .unwrap();
        w.extend(data.iter().cloned()).unwrap();
        w.finish().unwrap();
    }
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(path, buf).unwrap();
}
