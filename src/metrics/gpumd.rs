//! Prediction-versus-reference files in GPUMD's `nep` layout, so that the
//! plotting scripts written for GPUMD work on forcefit's output unchanged.
//!
//! Four files per data set (`suffix` is `train` or `test`), one line per
//! structure (per atom for forces), numbers printed like C's `printf("%g")`
//! and separated by single spaces, predicted columns first:
//!
//! | file | columns | unit |
//! |---|---|---|
//! | `energy_{suffix}.out` | E/N predicted, E/N reference | eV/atom |
//! | `force_{suffix}.out` | fx fy fz predicted, fx fy fz reference | eV/Å |
//! | `virial_{suffix}.out` | W/N xx yy zz xy yz zx predicted, then reference | eV/atom |
//! | `stress_{suffix}.out` | W/V · 160.2176634 in the same order | GPa |
//!
//! W is the virial (W = -stress · V, GPUMD's sign), so the "stress" GPUMD
//! writes is W/V: positive under compression, i.e. pressure-like, the
//! opposite sign of the ASE/VASP stress. Checked against GPUMD's own
//! `stress_train.out` and `virial_train.out` for PbTe: all 150 components
//! agree, with the same sign, within the files' 6-digit rounding; stress /
//! (virial per atom · N / V) = 160.217 ± 0.001 where |W/N| > 0.01 eV. GPUMD's constant is 1.602177e2; forcefit uses the exact SI
//! value 1 eV/Å³ = 160.2176634 GPa (they differ by 2e-7 relative, below
//! the 6 digits printed).
//!
//! A reference value that does not exist is written as `-1e+06`, GPUMD's
//! marker for a structure without a virial. GPUMD requires energies and
//! writes 0 for missing reference forces; forcefit writes the same `-1e+06`
//! marker for a missing energy or missing forces, so that a missing label
//! is never mistaken for a zero one. A structure without a cell has no
//! volume; all twelve stress columns are then `-1e+06`.

use crate::error::{Error, Result};
use crate::model::Prediction;
use crate::structure::Structure;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// 1 eV/Å³ in GPa (exact in the 2019 SI: e = 1.602176634e-19 C).
pub const EV_PER_CUBIC_ANGSTROM_IN_GPA: f64 = 160.217_663_4;

/// What GPUMD writes in place of a reference value that does not exist.
pub const MISSING: f64 = -1e6;

pub use crate::structure::VIRIAL_COMPONENTS;

/// Formats `x` like C's `printf("%g", x)`: 6 significant digits, trailing
/// zeros removed, exponent form (`1e+06`, `-1.23457e-05`) when the decimal
/// exponent is below -4 or at least 6, `inf`, `-inf`, `nan`, `-nan`.
///
/// Rounding is to nearest with ties to even on the exact binary value, as
/// glibc does (`1234565.0` → `1.23456e+06`).
pub fn format_g(x: f64) -> String {
    const PRECISION: usize = 6;
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    // Rust's `{:.5e}` rounds the exact value to 6 significant digits with
    // ties to even, like glibc; it prints e.g. "-1.23457e-5".
    let scientific = format!("{:.*e}", PRECISION - 1, x);
    let (mantissa, exponent) = match scientific.split_once('e') {
        Some(parts) => parts,
        None => return scientific, // unreachable for finite x
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    // The 6 significant digits, rounding already applied.
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();

    let mut out = String::with_capacity(16);
    out.push_str(sign);
    if (-4..PRECISION as i32).contains(&exponent) {
        // Fixed notation with the same 6 digits, decimal point moved.
        if exponent >= 0 {
            let split = exponent as usize + 1;
            out.push_str(&digits[..split]);
            let fraction = digits[split..].trim_end_matches('0');
            if !fraction.is_empty() {
                out.push('.');
                out.push_str(fraction);
            }
        } else {
            let significant = digits.trim_end_matches('0');
            if significant.is_empty() {
                out.push('0'); // x == 0 (exponent 0 then, but be safe)
            } else {
                out.push_str("0.");
                for _ in 0..(-exponent - 1) {
                    out.push('0');
                }
                out.push_str(significant);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        let fraction = digits[1..].trim_end_matches('0');
        if !fraction.is_empty() {
            out.push('.');
            out.push_str(fraction);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        out.push_str(&magnitude.to_string());
    }
    out
}

/// Writes `energy_{suffix}.out`, `force_{suffix}.out`, `virial_{suffix}.out`
/// and `stress_{suffix}.out` into `dir` (created if needed), in the layout
/// described in the module documentation, one line per item in order.
///
/// Each file is written to a temporary file in `dir` and renamed into
/// place, so a reader never sees a half-written file.
///
/// Errors when `suffix` is not a plain name (letters, digits, `_`, `-`),
/// when a prediction's number of forces differs from the structure's
/// number of atoms, and on I/O failure.
pub fn write_gpumd_outputs(
    dir: &Path,
    suffix: &str,
    items: &[(&Structure, &Prediction)],
) -> Result<()> {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if suffix.is_empty() || !suffix.chars().all(plain) {
        return Err(Error::Invalid(format!(
            "output suffix {suffix:?} must be a plain name such as \"train\" or \"test\""
        )));
    }
    for (s, p) in items {
        if p.forces.len() != s.n_atoms() {
            return Err(s.error(format!(
                "prediction has {} forces for {} atoms",
                p.forces.len(),
                s.n_atoms()
            )));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;

    write_atomically(&dir.join(format!("energy_{suffix}.out")), |w| {
        for (s, p) in items {
            let n = s.n_atoms() as f64;
            let reference = s.labels.energy.map_or(MISSING, |e| e / n);
            write_row(w, &[p.energy / n, reference])?;
        }
        Ok(())
    })?;

    write_atomically(&dir.join(format!("force_{suffix}.out")), |w| {
        for (s, p) in items {
            let reference = s.labels.forces.as_deref();
            for (i, f) in p.forces.iter().enumerate() {
                let r = reference.map_or([MISSING; 3], |r| r[i]);
                write_row(w, &[f[0], f[1], f[2], r[0], r[1], r[2]])?;
            }
        }
        Ok(())
    })?;

    write_atomically(&dir.join(format!("virial_{suffix}.out")), |w| {
        for (s, p) in items {
            let n = s.n_atoms() as f64;
            let reference = s.labels.virial.as_ref();
            write_row(w, &virial_row(&p.virial, reference, 1.0 / n))?;
        }
        Ok(())
    })?;

    write_atomically(&dir.join(format!("stress_{suffix}.out")), |w| {
        for (s, p) in items {
            let row = match s.volume() {
                Some(v) if v > 0.0 => {
                    let scale = EV_PER_CUBIC_ANGSTROM_IN_GPA / v;
                    virial_row(&p.virial, s.labels.virial.as_ref(), scale)
                }
                _ => [MISSING; 12],
            };
            write_row(w, &row)?;
        }
        Ok(())
    })
}

/// Six predicted then six reference virial components (GPUMD order), each
/// multiplied by `scale`; [`MISSING`] for an absent reference.
fn virial_row(predicted: &[f64; 9], reference: Option<&[f64; 9]>, scale: f64) -> [f64; 12] {
    let mut row = [MISSING; 12];
    for (k, &c) in VIRIAL_COMPONENTS.iter().enumerate() {
        row[k] = predicted[c] * scale;
        if let Some(r) = reference {
            row[6 + k] = r[c] * scale;
        }
    }
    row
}

/// One line: the values formatted with [`format_g`], single spaces, '\n'.
fn write_row(w: &mut dyn Write, values: &[f64]) -> std::io::Result<()> {
    for (k, &x) in values.iter().enumerate() {
        if k > 0 {
            w.write_all(b" ")?;
        }
        w.write_all(format_g(x).as_bytes())?;
    }
    w.write_all(b"\n")
}

/// Writes `path` through a temporary sibling file and a rename; the
/// temporary file is removed if anything fails.
fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temporary_sibling(path);
    let result = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        fill(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        // Best effort: the original error is the one worth reporting.
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// `dir/.name.PID.K.tmp` next to `path`, so the rename stays on one file
/// system; K distinguishes concurrent writers within one process.
fn temporary_sibling(path: &Path) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let k = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{k}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::structure::Labels;

    /// Expectations printed by python3 `'%g' % x` (and spot-checked with a
    /// C program compiled by gcc against glibc, which agrees on all of them,
    /// including `-nan`, which Python does not print).
    #[test]
    fn format_g_matches_c() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (100000.0, "100000"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (999999.0, "999999"),
            (999999.5, "1e+06"),
            (999999.4, "999999"),
            (0.0001, "0.0001"),
            (0.0001234565, "0.000123457"),
            (1e-05, "1e-05"),
            (-1.23456789e-05, "-1.23457e-05"),
            (9.999995, "10"),
            (9.9999949, "9.99999"),
            (-9.999995, "-10"),
            (99999.95, "99999.9"),
            (0.5, "0.5"),
            (2.5, "2.5"),
            (1234565.0, "1.23456e+06"),
            (1234575.0, "1.23458e+06"),
            (0.125, "0.125"),
            (1e-300, "1e-300"),
            (5e-324, "4.94066e-324"),
            (1.7976931348623157e+308, "1.79769e+308"),
            (1e+100, "1e+100"),
            (-1000000.0, "-1e+06"),
            (7.65432109, "7.65432"),
            (-0.000987654321, "-0.000987654"),
            (0.1, "0.1"),
            (1.5e-07, "1.5e-07"),
            (123.456789, "123.457"),
            (0.00999999, "0.00999999"),
            (9.99999e-05, "9.99999e-05"),
            (9.999995e-05, "0.0001"),
            (9.9999949999e-05, "9.99999e-05"),
            (9.999999999999999e-05, "0.0001"),
            (1000000000000000.0, "1e+15"),
            (-3.74744, "-3.74744"),
            (0.0759661, "0.0759661"),
            (9.748e-05, "9.748e-05"),
            (4.71474, "4.71474"),
            (-0.000324063, "-0.000324063"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-f64::NAN, "-nan"),
        ];
        for &(x, expected) in cases {
            assert_eq!(format_g(x), expected, "format_g({x:e})");
        }
    }

    fn structure(n: usize, cell: Option<f64>, labels: Labels) -> Structure {
        Structure {
            species: vec!["Si".to_string(); n],
            positions: (0..n).map(|i| [i as f64, 0.0, 0.0]).collect(),
            cell: cell.map(|a| [[a, 0.0, 0.0], [0.0, a, 0.0], [0.0, 0.0, a]]),
            pbc: [cell.is_some(); 3],
            labels,
            origin: Default::default(),
        }
    }

    fn read(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(name)).unwrap()
    }

    #[test]
    fn layout_missing_labels_and_stress_scale() {
        let dir = std::env::temp_dir().join(format!("forcefit-gpumd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // 2 atoms in a 2 Å cube (V = 8 Å³) with every label.
        let full = structure(
            2,
            Some(2.0),
            Labels {
                energy: Some(-3.0),
                forces: Some(vec![[0.5, 0.0, -0.25], [1e-5, 2.0, 3.0]]),
                // Asymmetric on purpose: zx is row z, column x (4), not xz (2).
                virial: Some([8.0, 1.0, 2.0, 1.0, 16.0, 3.0, 4.0, 3.0, -8.0]),
                ..Labels::default()
            },
        );
        let full_pred = Prediction {
            energy: -2.0,
            atomic_energies: vec![-1.0, -1.0],
            forces: vec![[0.0, 1.0, 2.0], [-1.0, 0.125, 1e6]],
            virial: [4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        };
        // 1 atom, no cell, no labels at all.
        let bare = structure(1, None, Labels::default());
        let bare_pred = Prediction {
            energy: 0.5,
            atomic_energies: vec![0.5],
            forces: vec![[0.0; 3]],
            virial: [0.0; 9],
        };
        let items = [(&full, &full_pred), (&bare, &bare_pred)];
        write_gpumd_outputs(&dir, "test", &items).unwrap();

        assert_eq!(read(&dir, "energy_test.out"), "-1 -1.5\n0.5 -1e+06\n");
        assert_eq!(
            read(&dir, "force_test.out"),
            "0 1 2 0.5 0 -0.25\n-1 0.125 1e+06 1e-05 2 3\n0 0 0 -1e+06 -1e+06 -1e+06\n"
        );
        // Per atom: predicted xx = 4/2; reference xx yy zz xy yz zx =
        // 8/2 16/2 -8/2 1/2 3/2 4/2.
        let m = "-1e+06 -1e+06 -1e+06 -1e+06 -1e+06 -1e+06";
        assert_eq!(
            read(&dir, "virial_test.out"),
            format!("2 0 0 0 0 0 4 8 -4 0.5 1.5 2\n0 0 0 0 0 0 {m}\n")
        );
        // W/V · 160.2176634 with V = 8: xx = 4/8 · 160.2176634 = 80.1088317.
        assert_eq!(
            read(&dir, "stress_test.out"),
            format!(
                "80.1088 0 0 0 0 0 160.218 320.435 -160.218 20.0272 60.0816 80.1088\n{m} {m}\n"
            )
        );
        // No temporary files left behind.
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "energy_test.out",
                "force_test.out",
                "stress_test.out",
                "virial_test.out"
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_bad_suffix_and_mismatched_forces() {
        let dir = std::env::temp_dir();
        let s = structure(2, None, Labels::default());
        let p = Prediction {
            forces: vec![[0.0; 3]],
            ..Prediction::default()
        };
        assert!(write_gpumd_outputs(&dir, "../x", &[]).is_err());
        assert!(write_gpumd_outputs(&dir, "", &[]).is_err());
        let err = write_gpumd_outputs(&dir, "never-written", &[(&s, &p)]).unwrap_err();
        assert!(err.to_string().contains("1 forces for 2 atoms"), "{err}");
        assert!(!dir.join("energy_never-written.out").exists());
    }
}
