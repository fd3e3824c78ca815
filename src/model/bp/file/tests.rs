//! Tests against the aenet TiO2 oracle files (`../shared/oracle/aenet/tio2`,
//! skipped when absent) and against damaged input.

use super::PotentialFile;
use crate::error::Error;
use std::path::{Path, PathBuf};

const ELEMENTS: [&str; 2] = ["Ti", "O"];

/// The oracle directory, or `None` (with a message) when it is absent.
fn oracle() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/oracle/aenet/tio2");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "skipped: aenet oracle directory {} not found",
            dir.display()
        );
        None
    }
}

/// The bytes of the binary and the text of the ASCII oracle of `element`.
fn files(dir: &Path, element: &str) -> (PathBuf, Vec<u8>, PathBuf, String) {
    let bin = dir.join(format!("potential.{element}.nn"));
    let asc = dir.join(format!("potential.{element}.nn.ascii"));
    let bytes = std::fs::read(&bin).unwrap();
    let text = std::fs::read_to_string(&asc).unwrap();
    (bin, bytes, asc, text)
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn num(s: &str) -> f64 {
    s.parse().unwrap()
}

#[test]
fn binary_oracle_round_trips_byte_for_byte() {
    let Some(dir) = oracle() else { return };
    for el in ELEMENTS {
        let (path, bytes, _, _) = files(&dir, el);
        let p = PotentialFile::read(&bytes, &path).unwrap();
        assert_eq!(p, PotentialFile::read_binary(&bytes, &path).unwrap());
        assert!(p.to_binary() == bytes, "{el}: bytes differ");
    }
}

#[test]
fn ascii_oracle_equals_binary_bit_for_bit() {
    let Some(dir) = oracle() else { return };
    for el in ELEMENTS {
        let (bin, bytes, asc, text) = files(&dir, el);
        let a = PotentialFile::read(text.as_bytes(), &asc).unwrap();
        let b = PotentialFile::read_binary(&bytes, &bin).unwrap();
        assert_eq!(bits(&a.network.w), bits(&b.network.w));
        assert_eq!(bits(&a.setup.sfparam), bits(&b.setup.sfparam));
        for (x, y) in [
            (&a.setup.sfval_min, &b.setup.sfval_min),
            (&a.setup.sfval_max, &b.setup.sfval_max),
            (&a.setup.sfval_avg, &b.setup.sfval_avg),
            (&a.setup.sfval_cov, &b.setup.sfval_cov),
            (&a.trainset.e_atom, &b.trainset.e_atom),
        ] {
            assert_eq!(bits(x), bits(y));
        }
        assert_eq!(a.trainset.scale.to_bits(), b.trainset.scale.to_bits());
        assert_eq!(a.trainset.shift.to_bits(), b.trainset.shift.to_bits());
        assert_eq!(b.setup.description, "PyTorch");
        assert_eq!(a, b);
        assert!(a.to_binary() == bytes, "{el}: ASCII-made binary differs");
    }
}

#[test]
fn oracle_holds_the_values_the_readme_lists() {
    let Some(dir) = oracle() else { return };
    for el in ELEMENTS {
        let (_, _, asc, text) = files(&dir, el);
        let p = PotentialFile::read_ascii(&text, &asc).unwrap();
        let (n, s, t) = (&p.network, &p.setup, &p.trainset);
        assert_eq!(
            (n.nlayers, n.nnodes_max, n.wsize, n.nvalues),
            (4, 30, 431, 54)
        );
        assert_eq!(n.nnodes, [30, 10, 10, 1]);
        assert_eq!(n.f_a, [1, 1, 0]);
        assert_eq!(n.iw, [0, 310, 420, 431]);
        assert_eq!(n.iv, [0, 31, 42, 53]);
        if el == "O" {
            assert_eq!(n.w[0], num("-0.15491944553803055"));
        }
        assert_eq!(s.atomtype, el);
        assert_eq!(s.envtypes, ["Ti", "O"]);
        assert_eq!((s.rc_min, s.rc_max), (0.5, 6.0));
        assert_eq!((s.sftype.as_str(), s.nsf, s.nsfparam), ("Chebyshev", 30, 4));
        assert_eq!(s.sfparam[..5], [6.0, 10.0, 3.5, 3.0, 0.0]);
        assert_eq!((s.sf.len(), s.sfenv.len(), s.neval), (30, 60, 0));
        assert_eq!(s.sfval_cov[0], num("197.57785648897834108"));
        assert_eq!((t.file.as_str(), t.normalized), ("aenet-python", true));
        assert_eq!(t.scale, num("0.37119261080826388"));
        assert_eq!(t.shift, num("-5.84392353133322739"));
        assert_eq!(t.typenames, ["Ti", "O"]);
        assert_eq!(t.e_atom, [num("-1604.604515075"), num("-432.503149303")]);
        assert_eq!((t.natomtot, t.nstrucs), (0, 0));
        assert_eq!((t.e_min, t.e_max, t.e_avg), (0.0, 0.0, 0.0));
    }
}

#[test]
fn ascii_write_then_read_gives_identical_numbers() {
    let Some(dir) = oracle() else { return };
    for el in ELEMENTS {
        let (bin, bytes, asc, text) = files(&dir, el);
        let p = PotentialFile::read_ascii(&text, &asc).unwrap();
        let again = PotentialFile::read_ascii(&p.to_ascii(), &asc).unwrap();
        assert_eq!(bits(&again.network.w), bits(&p.network.w));
        assert_eq!(again, p);
        let b = PotentialFile::read_binary(&bytes, &bin).unwrap();
        let via_ascii = PotentialFile::read(b.to_ascii().as_bytes(), &asc).unwrap();
        assert!(
            via_ascii.to_binary() == bytes,
            "{el}: binary→ASCII→binary differs"
        );
    }
}

#[test]
fn ascii_writer_puts_one_record_on_each_line() {
    let Some(dir) = oracle() else { return };
    let (bin, bytes, _, _) = files(&dir, "O");
    let text = PotentialFile::read_binary(&bytes, &bin).unwrap().to_ascii();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 36);
    let count = |l: usize| lines[l - 1].split_whitespace().count();
    assert_eq!(
        (count(5), count(9), count(20), count(21)),
        (4, 431, 120, 60)
    );
    assert_eq!(lines[9], "PyTorch");
    assert_eq!(lines[27], "T");
    assert_eq!(
        lines[8].split_whitespace().next(),
        Some("-1.5491944553803055E-01")
    );
}

#[test]
fn awkward_numbers_and_strings_survive_both_forms() {
    let Some(dir) = oracle() else { return };
    let (bin, bytes, _, _) = files(&dir, "Ti");
    let mut p = PotentialFile::read_binary(&bytes, &bin).unwrap();
    let odd = [-0.0, 5e-324, f64::MAX, -1e-300, 1e100, 0.1, f64::INFINITY];
    p.network.w[..odd.len()].copy_from_slice(&odd);
    p.setup.description = "two words, a 'quote' and a \"double\" / slash".into();
    p.trainset.file = String::new();
    p.setup.sftype = "3*x".into();
    let again = PotentialFile::read_ascii(&p.to_ascii(), &bin).unwrap();
    assert_eq!(bits(&again.network.w), bits(&p.network.w));
    assert_eq!(again, p);
    assert_eq!(PotentialFile::read_binary(&p.to_binary(), &bin).unwrap(), p);
}

#[test]
fn ascii_reader_takes_fortran_list_directed_forms() {
    let Some(dir) = oracle() else { return };
    let (_, _, asc, text) = files(&dir, "O");
    let want = PotentialFile::read_ascii(&text, &asc).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[4] = "30, 10,10 , 1".into();
    lines[12] = "Ti\nO".into();
    lines[13] = "0.5D0".into();
    lines[14] = "0.06+002".into();
    lines[18] = "30*0".into();
    lines[37] = "'aenet-python' trailing words are ignored".into();
    lines[38] = ".TRUE.".into();
    lines[44] = "0\n\n".into();
    let p = PotentialFile::read_ascii(&lines.join("\n"), &asc).unwrap();
    assert_eq!(p, want);
    lines[9] = "../data/set.train rest".into();
    let p = PotentialFile::read_ascii(&lines.join("\n"), &asc).unwrap();
    assert_eq!(p.setup.description, "..");
}

/// The message of an error, and its line when it is a parse error.
fn message(e: Error) -> (String, Option<usize>) {
    match e {
        Error::Parse { line, .. } => (e.to_string(), Some(line)),
        e => (e.to_string(), None),
    }
}

fn oracle_binary() -> Option<(PathBuf, Vec<u8>, PotentialFile)> {
    let dir = oracle()?;
    let (bin, bytes, _, _) = files(&dir, "O");
    let p = PotentialFile::read_binary(&bytes, &bin).unwrap();
    Some((bin, bytes, p))
}

#[test]
fn truncated_binary_is_an_error_naming_the_record() {
    let Some((bin, bytes, _)) = oracle_binary() else {
        return;
    };
    for (cut, record) in [
        (2, 1),
        (4, 1),
        (11, 1),
        (12, 2),
        (140, 9),
        (3600, 10),
        (8353, 36),
    ] {
        let (msg, _) = message(PotentialFile::read(&bytes[..cut], &bin).unwrap_err());
        assert!(
            msg.contains(&format!("record {record} (")),
            "cut {cut}: {msg}"
        );
    }
    // Byte 4 first: a binary file cut inside its first marker, not text.
    let (msg, _) = message(PotentialFile::read(&[4, 0, 0], &bin).unwrap_err());
    assert!(msg.contains("record 1 (nlayers): the file ends"), "{msg}");
}

#[test]
fn corrupted_record_marker_names_the_record_and_sizes() {
    let Some((bin, bytes, _)) = oracle_binary() else {
        return;
    };
    // Record 9 (W) opens at byte 140, after four 12-byte records, nnodes
    // and iw and iv (24 bytes each) and f_a (20).
    let mut bad = bytes.clone();
    bad[140..144].copy_from_slice(&3440u32.to_le_bytes());
    let (msg, _) = message(PotentialFile::read(&bad, &bin).unwrap_err());
    assert!(
        msg.ends_with("record 9 (W): expected 3448 bytes, the marker says 3440"),
        "{msg}"
    );
    let mut bad = bytes.clone();
    let close = 144 + 3448;
    bad[close..close + 4].copy_from_slice(&3449u32.to_le_bytes());
    let (msg, _) = message(PotentialFile::read(&bad, &bin).unwrap_err());
    assert!(
        msg.contains("record 9 (W): the closing record marker says 3449"),
        "{msg}"
    );
}

#[test]
fn trailing_bytes_and_text_are_errors() {
    let Some((bin, bytes, p)) = oracle_binary() else {
        return;
    };
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 8]);
    let (msg, _) = message(PotentialFile::read(&longer, &bin).unwrap_err());
    assert!(msg.contains("8 bytes follow the last record (36"), "{msg}");
    let text = p.to_ascii() + "\n  junk\n";
    let (msg, line) = message(PotentialFile::read(text.as_bytes(), &bin).unwrap_err());
    assert_eq!(line, Some(38), "{msg}");
    let mut lines: Vec<String> = p.to_ascii().lines().map(str::to_string).collect();
    lines[8].push_str(" 1.0");
    let extra_weight = lines.join("\n");
    let (msg, line) = message(PotentialFile::read_ascii(&extra_weight, &bin).unwrap_err());
    assert_eq!(line, Some(9), "{msg}");
    assert!(
        msg.contains("W: unexpected `1.0` after its 431 values"),
        "{msg}"
    );
}

/// Reads `p` in both forms; both must fail, mentioning every one of `words`.
fn both_forms_fail(p: &PotentialFile, words: &[&str], ascii_line: usize) {
    let path = Path::new("x.nn");
    let (msg, _) = message(PotentialFile::read(&p.to_binary(), path).unwrap_err());
    let (amsg, line) = message(PotentialFile::read(p.to_ascii().as_bytes(), path).unwrap_err());
    for w in words {
        assert!(msg.contains(w), "binary: `{w}` not in {msg}");
        assert!(amsg.contains(w), "ASCII: `{w}` not in {amsg}");
    }
    assert_eq!(line, Some(ascii_line), "{amsg}");
}

#[test]
fn huge_sizes_are_rejected_before_allocating() {
    let Some((_, _, good)) = oracle_binary() else {
        return;
    };
    let mut p = good.clone();
    p.network.nlayers = 1_000_000_000;
    both_forms_fail(&p, &["nlayers", "exceeds the limit 64"], 1);
    let mut p = good.clone();
    p.network.nnodes[1] = 2_000_000_000;
    both_forms_fail(&p, &["nnodes", "entry 2", "exceeds the limit 100000"], 5);
    let mut p = good.clone();
    p.network.wsize = 2_000_000_000;
    both_forms_fail(&p, &["Wsize", "exceeds the limit 100000000"], 3);
    let mut p = good.clone();
    p.setup.nsf = 1 << 30;
    both_forms_fail(&p, &["nsf", "exceeds the limit 100000"], 17);
    let mut p = good.clone();
    p.trainset.ntypes = 1 << 30;
    both_forms_fail(&p, &["ntypes", "exceeds the limit 1000"], 31);
    let mut p = good;
    p.setup.nenv = usize::MAX;
    both_forms_fail(&p, &["nenv", "exceeds the limit 1000"], 12);
}

/// A change that spoils a file, words its error must hold, and its ASCII line.
type Spoil = (fn(&mut PotentialFile), &'static [&'static str], usize);

#[test]
fn inconsistent_sizes_are_rejected() {
    let Some((_, _, good)) = oracle_binary() else {
        return;
    };
    let cases: [Spoil; 9] = [
        (
            |p| p.network.nlayers = 1,
            &["nlayers", "below the minimum 2"],
            1,
        ),
        (
            |p| p.network.wsize = 432,
            &["Wsize", "432", "= 431 weights"],
            3,
        ),
        (|p| p.network.nnodes_max = 31, &["nnodes_max", "is 30"], 2),
        (|p| p.network.nvalues = 53, &["nvalues", "make 54"], 4),
        (|p| p.network.f_a[1] = 7, &["f_a", "layer 3", "code 7"], 6),
        (|p| p.network.iw[2] = 421, &["iw", "give 0 310 420 431"], 7),
        (|p| p.network.iv[0] = -1i32 as usize, &["iv", "entry 1"], 8),
        (|p| p.setup.nsf = 29, &["nsf", "29", "30 inputs"], 17),
        (
            |p| p.trainset.ntypes = 0,
            &["ntypes", "below the minimum 1"],
            31,
        ),
    ];
    for (spoil, words, line) in cases {
        let mut p = good.clone();
        spoil(&mut p);
        both_forms_fail(&p, words, line);
    }
}

#[test]
fn non_number_in_the_weight_line_names_line_9() {
    let Some(dir) = oracle() else { return };
    let (_, _, asc, text) = files(&dir, "O");
    let bad = text.replacen("0.05249639846032107", "0.05x49639846032107", 1);
    let (msg, line) = message(PotentialFile::read_ascii(&bad, &asc).unwrap_err());
    assert_eq!(line, Some(9), "{msg}");
    assert!(
        msg.contains("W: value 4 of 431: expected a real number"),
        "{msg}"
    );
    let short = text.replacen("0.05249639846032107", "", 1);
    let (msg, line) = message(PotentialFile::read_ascii(&short, &asc).unwrap_err());
    assert_eq!(line, Some(10), "{msg}");
    assert!(msg.contains("W: value 431 of 431: expected a real number, found `PyTorch`"));
}

#[test]
fn empty_and_blank_files_are_errors() {
    let path = Path::new("empty.nn");
    let (msg, _) = message(PotentialFile::read(b"", path).unwrap_err());
    assert!(msg.contains("empty file"), "{msg}");
    let (msg, line) = message(PotentialFile::read(b" \n\n", path).unwrap_err());
    assert_eq!(line, Some(3), "{msg}");
    assert!(msg.contains("nlayers: the file ends"), "{msg}");
    let (msg, _) = message(PotentialFile::read(&[0, 0, 0, 4, 0, 0, 0, 4], path).unwrap_err());
    assert!(msg.contains("big-endian"), "{msg}");
    assert!(PotentialFile::read(&[0xff, 0xfe, 1], path).is_err());
}

#[test]
fn no_truncation_or_byte_flip_panics() {
    let Some(dir) = oracle() else { return };
    let (bin, bytes, asc, text) = files(&dir, "O");
    for cut in 0..bytes.len() {
        assert!(
            PotentialFile::read(&bytes[..cut], &bin).is_err(),
            "cut {cut}"
        );
    }
    let mut flipped = bytes.clone();
    for i in 0..200 {
        for bit in 0..8 {
            flipped[i] ^= 1 << bit;
            let _ = PotentialFile::read(&flipped, &bin);
            flipped[i] ^= 1 << bit;
        }
    }
    for cut in (0..text.len()).step_by(61) {
        let _ = PotentialFile::read_ascii(&text[..cut], &asc);
    }
    let mut chars: Vec<u8> = text.bytes().collect();
    for i in (0..chars.len()).step_by(173) {
        let kept = chars[i];
        for c in [b'x', b'9', b',', b'/', b'*', b'\'', b'\n', b' '] {
            chars[i] = c;
            let _ = PotentialFile::read(&chars, &asc);
        }
        chars[i] = kept;
    }
}
