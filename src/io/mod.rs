//! Reading and writing structure files (extended XYZ, DeePMD npy, aenet
//! XSF; VASP's OUTCAR and vasprun.xml are read).
//!
//! Every reader returns [`Structure`]s that have passed
//! [`Structure::validate`], with [`Origin`](crate::structure::Origin) set to
//! the file (or DeePMD set directory), the 0-based frame and the 1-based
//! line where the frame starts (0 for binary files). Errors name the file
//! and the line or frame, and say what was expected.
//!
//! Conventions shared by all formats: lengths in Å, energies in eV, forces
//! in eV/Å, the virial W in eV with GPUMD's sign, W = -stress · volume,
//! stored row-major (xx xy xz yx yy yz zx zy zz).

pub mod deepmd;
pub mod extxyz;
pub mod npy;
pub mod outcar;
pub mod vasp;
pub mod vasprun;
pub mod xsf;

use crate::error::{Error, Result};
use crate::structure::Structure;
use std::cmp::Ordering;
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A structure file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Extended XYZ (ASE / GPUMD flavour), many frames per file.
    ExtXyz,
    /// A DeePMD `deepmd/npy` system directory, or a directory of them.
    Deepmd,
    /// aenet XSF: one structure per file, or a directory of `*.xsf` files.
    Xsf,
    /// VASP OUTCAR: every converged ionic step with forces.
    Outcar,
    /// VASP vasprun.xml: every converged `<calculation>`.
    Vasprun,
}

impl FromStr for Format {
    type Err = Error;

    /// Accepts `extxyz`/`xyz`, `deepmd`/`npy`/`deepmd/npy`, `xsf`,
    /// `outcar`/`vasp/outcar`, `vasprun`/`vasp/xml` (case-insensitive; the
    /// `vasp/…` names are dpdata's).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "extxyz" | "xyz" => Ok(Format::ExtXyz),
            "deepmd" | "npy" | "deepmd/npy" => Ok(Format::Deepmd),
            "xsf" => Ok(Format::Xsf),
            "outcar" | "vasp/outcar" => Ok(Format::Outcar),
            "vasprun" | "vasp/xml" => Ok(Format::Vasprun),
            _ => Err(Error::Invalid(format!(
                "unknown structure format '{s}' (expected extxyz, deepmd, xsf, outcar or vasprun)"
            ))),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::ExtXyz => "extxyz",
            Format::Deepmd => "deepmd",
            Format::Xsf => "xsf",
            Format::Outcar => "outcar",
            Format::Vasprun => "vasprun",
        })
    }
}

/// Guesses the format of `path`.
///
/// A directory holding `type.raw`, or with a subdirectory that does, is a
/// DeePMD system (or set of systems); a directory with `*.xsf` files or a
/// file named `*.xsf` is XSF; a file named `*.xyz` or `*.extxyz` is
/// extended XYZ; a file whose name starts with `OUTCAR` (`OUTCAR.h2o.md`)
/// is an OUTCAR; one whose name starts with `vasprun` and contains `.xml`,
/// or ends in `.xml` and has `<modeling>` near its start, is a
/// vasprun.xml. Anything else is an error suggesting `--format`.
pub fn detect(path: &Path) -> Result<Format> {
    let meta = fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        if path.join("type.raw").is_file() {
            return Ok(Format::Deepmd);
        }
        let entries = list_dir(path)?;
        if entries
            .iter()
            .any(|p| p.is_dir() && p.join("type.raw").is_file())
        {
            return Ok(Format::Deepmd);
        }
        if entries
            .iter()
            .any(|p| p.is_file() && has_extension(p, "xsf"))
        {
            return Ok(Format::Xsf);
        }
        return Err(Error::file(
            path,
            "cannot tell the format of this directory: it holds neither a DeePMD system \
             (type.raw, here or in a subdirectory) nor *.xsf files; pass --format \
             extxyz|deepmd|xsf",
        ));
    }
    let name = file_name(path);
    if has_extension(path, "xsf") {
        Ok(Format::Xsf)
    } else if has_extension(path, "xyz") || has_extension(path, "extxyz") {
        Ok(Format::ExtXyz)
    } else if name.starts_with("OUTCAR") {
        Ok(Format::Outcar)
    } else if (name.starts_with("vasprun") && name.contains(".xml"))
        || (has_extension(path, "xml") && starts_like_vasprun(path))
    {
        Ok(Format::Vasprun)
    } else {
        Err(Error::file(
            path,
            "cannot tell the format from the file name (expected *.xyz, *.extxyz, *.xsf, \
             OUTCAR* or vasprun*.xml); pass --format extxyz|deepmd|xsf|outcar|vasprun",
        ))
    }
}

/// Whether an `.xml` file has VASP's root element `<modeling>` in its
/// first 4 KiB.
fn starts_like_vasprun(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    let read = fs::File::open(path).and_then(|f| f.take(4096).read_to_end(&mut head));
    read.is_ok() && head.windows(10).any(|w| w == b"<modeling>")
}

/// Reads all structures from `path`, in `format` or the detected one.
///
/// Every structure returned has passed [`Structure::validate`].
pub fn read(path: &Path, format: Option<Format>) -> Result<Vec<Structure>> {
    let format = match format {
        Some(f) => f,
        None => detect(path)?,
    };
    match format {
        Format::ExtXyz => extxyz::read(path),
        Format::Deepmd => deepmd::read(path),
        Format::Xsf => xsf::read(path),
        Format::Outcar => outcar::read(path),
        Format::Vasprun => vasprun::read(path),
    }
}

/// Structures read from several inputs into one list.
#[derive(Clone, Debug, Default)]
pub struct Collection {
    /// Every structure, input by input, in order.
    pub structures: Vec<Structure>,
    /// Each input and how many structures it gave.
    pub counts: Vec<(PathBuf, usize)>,
}

/// Reads every input (in `format`, or each one's detected format) into one
/// list, in the order given.
pub fn read_all(paths: &[PathBuf], format: Option<Format>) -> Result<Collection> {
    let mut all = Collection::default();
    for p in paths {
        let s = read(p, format)?;
        all.counts.push((p.clone(), s.len()));
        all.structures.extend(s);
    }
    Ok(all)
}

/// Writes a file atomically: `f` writes into a temporary file in the same
/// directory, which is flushed, synced to disk and then renamed over
/// `path`. On failure the temporary file is removed and `path` is left as
/// it was.
pub fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::file(path, "cannot write: the path has no file name"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (tmp_path, file) = create_temp(&dir, &name.to_string_lossy())?;
    let result = (|| -> std::io::Result<()> {
        let mut w = std::io::BufWriter::new(file);
        f(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp_path, path)
    })();
    if let Err(e) = result {
        // Best effort: the original error matters more than a failed cleanup.
        let _ = fs::remove_file(&tmp_path);
        return Err(Error::io(path, e));
    }
    // Make the rename itself durable; not every platform can sync a directory.
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates a new, uniquely named temporary file `dir/.name.tmp.<pid>.<n>`.
fn create_temp(dir: &Path, name: &str) -> Result<(PathBuf, fs::File)> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.tmp.{}.{n}", std::process::id()));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&tmp, e)),
        }
    }
}

/// Whether `path` has extension `ext` (case-insensitive).
fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// The entries of a directory, in natural order of their names.
fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        entries.push(entry.map_err(|e| Error::io(dir, e))?.path());
    }
    entries.sort_by(|a, b| natural_cmp(&file_name(a), &file_name(b)));
    Ok(entries)
}

/// The last component of a path, as text.
fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads a text file, reporting invalid UTF-8 with its line number.
fn read_text(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        Error::parse(path, line, "the file is not UTF-8 text")
    })
}

/// Natural ("human") order: runs of digits compare as numbers, so
/// `structure2 < structure10`; ties fall back to plain string order.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    while !x.is_empty() && !y.is_empty() {
        let (dx, dy) = (x[0].is_ascii_digit(), y[0].is_ascii_digit());
        let ord = if dx && dy {
            let lx = x.iter().take_while(|c| c.is_ascii_digit()).count();
            let ly = y.iter().take_while(|c| c.is_ascii_digit()).count();
            let (nx, ny) = (trim_zeros(&x[..lx]), trim_zeros(&y[..ly]));
            let ord = nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny));
            x = &x[lx..];
            y = &y[ly..];
            ord
        } else {
            let ord = x[0].cmp(&y[0]);
            x = &x[1..];
            y = &y[1..];
            ord
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    x.len().cmp(&y.len()).then_with(|| a.cmp(b))
}

/// Digits without leading zeros.
fn trim_zeros(d: &[u8]) -> &[u8] {
    let k = d.iter().take_while(|&&c| c == b'0').count();
    &d[k..]
}

/// A chemical symbol in canonical case ("PB" → "Pb") when it names an
/// element; other labels are kept as written.
pub(crate) fn canonical_symbol(s: &str) -> String {
    if crate::elements::atomic_number(s).is_some() {
        return s.to_string();
    }
    let mut c = s.chars();
    let fixed: String = match c.next() {
        Some(first) => first
            .to_uppercase()
            .chain(c.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    };
    if crate::elements::atomic_number(&fixed).is_some() {
        fixed
    } else {
        s.to_string()
    }
}

/// Parses an atom label: an element symbol (any case) or an atomic number.
/// A label must start with a letter so that a shifted numeric column is
/// not mistaken for a species.
pub(crate) fn parse_species(tok: &str) -> std::result::Result<String, String> {
    if !tok.is_empty() && tok.bytes().all(|b| b.is_ascii_digit()) {
        let z: u32 = tok
            .parse()
            .map_err(|_| format!("atomic number '{tok}' is out of range (1-118)"))?;
        return crate::elements::symbol(z)
            .map(str::to_string)
            .ok_or_else(|| format!("atomic number {z} is out of range (1-118)"));
    }
    if tok.chars().next().is_some_and(|c| c.is_alphabetic()) {
        Ok(canonical_symbol(tok))
    } else {
        Err(format!(
            "expected an element symbol or atomic number, found '{tok}'"
        ))
    }
}

/// Parses a real number; Fortran exponents (`1.0D-3`) are accepted, NaN
/// and infinities are not.
pub(crate) fn parse_real(tok: &str) -> std::result::Result<f64, String> {
    let v = match tok.parse::<f64>() {
        Ok(v) => v,
        Err(_) if tok.contains(['d', 'D']) => tok
            .replace(['d', 'D'], "e")
            .parse::<f64>()
            .map_err(|_| format!("expected a real number, found '{tok}'"))?,
        Err(_) => return Err(format!("expected a real number, found '{tok}'")),
    };
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("expected a finite real number, found '{tok}'"))
    }
}

/// Expands a symmetric tensor given in Voigt order (xx yy zz yz xz xy, as
/// ASE uses) to 9 values, row-major.
pub(crate) fn voigt_to_full(v: &[f64; 6]) -> [f64; 9] {
    let [xx, yy, zz, yz, xz, xy] = *v;
    [xx, xy, xz, xy, yy, yz, xz, yz, zz]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["s10", "s2", "s1", "s02", "a", "s", "t0"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["a", "s", "s1", "s02", "s2", "s10", "t0"]);
        assert_eq!(natural_cmp("x007", "x7"), "x007".cmp("x7"));
    }

    #[test]
    fn species_labels() {
        assert_eq!(parse_species("PB").unwrap(), "Pb");
        assert_eq!(parse_species("te").unwrap(), "Te");
        assert_eq!(parse_species("82").unwrap(), "Pb");
        assert_eq!(parse_species("Xx").unwrap(), "Xx");
        assert!(parse_species("0").is_err());
        assert!(parse_species("1.5").is_err());
    }

    #[test]
    fn reals() {
        assert_eq!(parse_real("1.5D-3").unwrap(), 1.5e-3);
        assert_eq!(parse_real("-0.0").unwrap().to_bits(), (-0.0f64).to_bits());
        assert!(parse_real("nan").is_err());
        assert!(parse_real("inf").is_err());
        assert!(parse_real("x").is_err());
    }
}
