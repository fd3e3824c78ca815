//! DeePMD-kit's `deepmd/npy` systems.
//!
//! A system is a directory with
//!
//! - `type.raw`: one type index per atom (whitespace-separated integers);
//! - `type_map.raw`: the symbol of each type index (required here, since
//!   forcefit works with element symbols);
//! - `nopbc` (optional, any content): the system is not periodic; then
//!   `box.npy` is not needed and any cell is ignored;
//! - `set.*/` directories, read in natural order of their names, each with
//!   `coord.npy` (nframes × natoms·3, Å), `box.npy` (nframes × 9, rows a,
//!   b, c, Å), `energy.npy` (nframes, eV), `force.npy` (nframes × natoms·3,
//!   eV/Å) and optionally `virial.npy` (nframes × 9, eV, row-major).
//!
//! Arrays may be float32 or float64 (converted to f64) and may carry the
//! trailing dimensions split (e.g. nframes × natoms × 3).
//!
//! Sign of the virial: deepmd-kit's virial is GPUMD's W = -stress · V. dpdata
//! (the DeePMD data converter) converts ASE stress with
//! `virials = -volume * stress` and back with `stress = -virial / volume`
//! (`dpdata/plugins/ase.py`), so `virial.npy` is used as is.
//!
//! A directory that is not a system itself is searched (recursively, in
//! natural order) for systems, which are read one after another, as
//! deepmd-kit does with a `systems` directory.

use crate::error::{Error, Result};
use crate::io::{canonical_symbol, file_name, list_dir, read_text};
use crate::structure::{Labels, Origin, Structure};
use npyz::{DType, NpyFile, NpyHeader, TypeChar};
use std::fs;
use std::path::{Path, PathBuf};

/// Reads a DeePMD system, or every system below a directory.
pub fn read(path: &Path) -> Result<Vec<Structure>> {
    let meta = fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_dir() {
        return Err(Error::file(
            path,
            "a DeePMD system must be a directory (with type.raw, type_map.raw and set.*/)",
        ));
    }
    let mut systems = Vec::new();
    find_systems(path, &mut systems)?;
    if systems.is_empty() {
        return Err(Error::file(
            path,
            "no DeePMD system found: expected type.raw in this directory or below it",
        ));
    }
    let mut out = Vec::new();
    for system in &systems {
        out.extend(read_system(system)?);
    }
    Ok(out)
}

/// Collects `dir` if it is a system, else the systems below it.
fn find_systems(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if dir.join("type.raw").is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    for entry in list_dir(dir)? {
        if entry.is_dir() {
            find_systems(&entry, out)?;
        }
    }
    Ok(())
}

/// Reads one system directory (the one holding `type.raw`).
pub fn read_system(dir: &Path) -> Result<Vec<Structure>> {
    let type_map = read_type_map(&dir.join("type_map.raw"))?;
    let types = read_types(&dir.join("type.raw"), &type_map)?;
    let species: Vec<String> = types.iter().map(|&t| type_map[t].clone()).collect();
    let periodic = !dir.join("nopbc").exists();
    let sets: Vec<PathBuf> = list_dir(dir)?
        .into_iter()
        .filter(|p| p.is_dir() && file_name(p).starts_with("set."))
        .collect();
    if sets.is_empty() {
        return Err(Error::file(
            dir,
            "the system has no set.* directories (expected set.000/ with coord.npy, ...)",
        ));
    }
    let mut out = Vec::new();
    for set in &sets {
        read_set(set, &species, periodic, &mut out)?;
    }
    Ok(out)
}

/// Reads the frames of one `set.*` directory, appending to `out` (whose
/// length is the frame index within the system).
fn read_set(
    set: &Path,
    species: &[String],
    periodic: bool,
    out: &mut Vec<Structure>,
) -> Result<()> {
    let natoms = species.len();
    let coord = Array::read(&set.join("coord.npy"))?;
    let nframes = match coord.shape.first() {
        Some(&n) if coord.shape.len() >= 2 => n,
        _ => {
            return Err(Error::file(
                &coord.path,
                format!(
                    "shape {:?}, expected [nframes, {}] (natoms*3 from type.raw)",
                    coord.shape,
                    natoms * 3
                ),
            ));
        }
    };
    coord.expect(nframes, natoms * 3, "natoms*3 from type.raw")?;
    let cell = if periodic {
        let b = Array::read(&set.join("box.npy"))?;
        b.expect(nframes, 9, "3x3 cell")?;
        Some(b)
    } else {
        None
    };
    let energy = Array::read(&set.join("energy.npy"))?;
    energy.expect(nframes, 1, "one energy per frame")?;
    let force = Array::read(&set.join("force.npy"))?;
    force.expect(nframes, natoms * 3, "natoms*3 from type.raw")?;
    let virial_path = set.join("virial.npy");
    let virial = if virial_path.exists() {
        let v = Array::read(&virial_path)?;
        v.expect(nframes, 9, "3x3 virial")?;
        Some(v)
    } else {
        None
    };
    for f in 0..nframes {
        let rows = |a: &Array| -> Vec<[f64; 3]> {
            a.frame(f, natoms * 3)
                .chunks_exact(3)
                .map(|r| [r[0], r[1], r[2]])
                .collect()
        };
        let nine = |a: &Array| -> [f64; 9] {
            let v = a.frame(f, 9);
            [v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]]
        };
        let s = Structure {
            species: species.to_vec(),
            positions: rows(&coord),
            cell: cell.as_ref().map(|b| {
                let v = nine(b);
                [[v[0], v[1], v[2]], [v[3], v[4], v[5]], [v[6], v[7], v[8]]]
            }),
            pbc: [periodic; 3],
            labels: Labels {
                energy: Some(energy.frame(f, 1)[0]),
                forces: Some(rows(&force)),
                virial: virial.as_ref().map(nine),
                ..Labels::default()
            },
            origin: Origin {
                path: set.to_path_buf(),
                frame: out.len(),
                line: 0,
            },
        };
        s.validate()?;
        out.push(s);
    }
    Ok(())
}

/// Reads `type_map.raw`: one symbol per type index.
fn read_type_map(path: &Path) -> Result<Vec<String>> {
    if !path.is_file() {
        return Err(Error::file(
            path,
            "type_map.raw is missing; it is required to name the atom types \
             (one element symbol per line, in type-index order)",
        ));
    }
    let text = read_text(path)?;
    let map: Vec<String> = text.split_whitespace().map(canonical_symbol).collect();
    if map.is_empty() {
        return Err(Error::parse(
            path,
            1,
            "type_map.raw is empty; expected one symbol per type",
        ));
    }
    Ok(map)
}

/// Reads `type.raw`, checking each index against the type map.
fn read_types(path: &Path, type_map: &[String]) -> Result<Vec<usize>> {
    let text = read_text(path)?;
    let mut types = Vec::new();
    for (no, line) in text.lines().enumerate() {
        for tok in line.split_whitespace() {
            let t: usize = tok.parse().map_err(|_| {
                Error::parse(
                    path,
                    no + 1,
                    format!("expected a non-negative integer type index, found '{tok}'"),
                )
            })?;
            if t >= type_map.len() {
                return Err(Error::parse(
                    path,
                    no + 1,
                    format!(
                        "type index {t} is out of range: type_map.raw has {} types ({})",
                        type_map.len(),
                        type_map.join(" ")
                    ),
                ));
            }
            types.push(t);
        }
    }
    if types.is_empty() {
        return Err(Error::parse(
            path,
            1,
            "type.raw is empty; expected one type index per atom",
        ));
    }
    Ok(types)
}

/// Parses the bytes of an `.npy` file as the system reader does: a
/// C-ordered float32 or float64 array whose header's shape the data
/// hold. Returns the shape and the values (as f64); `path` names the file
/// in errors. Used by the fuzz targets and the bad-input tests.
pub fn parse_npy(bytes: &[u8], path: &Path) -> Result<(Vec<usize>, Vec<f64>)> {
    let a = Array::from_bytes(bytes, path)?;
    Ok((a.shape, a.data))
}

/// A float array read from an `.npy` file, converted to f64.
struct Array {
    path: PathBuf,
    shape: Vec<usize>,
    data: Vec<f64>,
}

impl Array {
    /// Reads a C-ordered float32 or float64 array.
    fn read(path: &Path) -> Result<Array> {
        if !path.is_file() {
            return Err(Error::file(path, "required .npy file is missing"));
        }
        let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }

    /// Parses the bytes of an `.npy` file (`path` names it in errors).
    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Array> {
        let bad = |msg: String| Error::file(path, msg);
        super::npy::check_header(bytes).map_err(bad)?;
        let mut data_bytes: &[u8] = bytes;
        let header = NpyHeader::from_reader(&mut data_bytes)
            .map_err(|e| bad(format!("not a valid .npy file: {e}")))?;
        let data_len = data_bytes.len();
        let npy = NpyFile::with_header(header, data_bytes);
        let shape: Vec<usize> = npy
            .shape()
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad(format!("shape {:?} is too large", npy.shape())))?;
        let size = match npy.dtype() {
            DType::Plain(t) if t.type_char() == TypeChar::Float => t.size_field(),
            _ => 0,
        };
        if size != 4 && size != 8 {
            return Err(bad(format!(
                "dtype {}, expected float32 or float64",
                npy.dtype().descr()
            )));
        }
        if shape.len() > 1 && npy.order() == npyz::Order::Fortran {
            return Err(bad(
                "Fortran-ordered arrays are not supported; save with C order".into(),
            ));
        }
        // Guard against a header that promises more data than the file has.
        let n: usize = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .unwrap_or(usize::MAX);
        if n.saturating_mul(size as usize) > data_len {
            return Err(bad(format!(
                "shape {shape:?} needs {n} values of {size} bytes but the file holds only \
                 {data_len} bytes of data (truncated?)"
            )));
        }
        let truncated = |e: std::io::Error| bad(format!("cannot read the array data: {e}"));
        let data = if size == 8 {
            npy.into_vec::<f64>().map_err(truncated)?
        } else {
            npy.into_vec::<f32>()
                .map_err(truncated)?
                .into_iter()
                .map(f64::from)
                .collect()
        };
        Ok(Array {
            path: path.to_path_buf(),
            shape,
            data,
        })
    }

    /// Checks the shape is `nframes` × (anything with `per_frame` values).
    fn expect(&self, nframes: usize, per_frame: usize, what: &str) -> Result<()> {
        let ok = self.shape.first() == Some(&nframes)
            && self.shape[1..]
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                == Some(per_frame)
            && (self.shape.len() > 1 || per_frame == 1);
        if ok {
            return Ok(());
        }
        let expected = if per_frame == 1 {
            format!("[{nframes}]")
        } else {
            format!("[{nframes}, {per_frame}]")
        };
        Err(Error::file(
            &self.path,
            format!(
                "shape {:?} does not match: expected {expected} ({nframes} frames as in \
                 coord.npy, {per_frame} values per frame: {what})",
                self.shape
            ),
        ))
    }

    /// The values of frame `f` (shape already checked).
    fn frame(&self, f: usize, per_frame: usize) -> &[f64] {
        &self.data[f * per_frame..(f + 1) * per_frame]
    }
}
