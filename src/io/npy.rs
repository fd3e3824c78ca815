//! Checks of an `.npy` header made before the npy parser sees it: the
//! parser trusts the header's length field (a damaged file asked it for
//! 4 GiB) and parses the header's Python literal with backtracking that
//! takes exponential time on deeply nested brackets (found by fuzzing).
//!
//! Layout (numpy's `format.py`): the magic `\x93NUMPY`, the version
//! (major, minor), the header length (u16 little-endian for version 1,
//! u32 for versions 2 and 3), then the header, a Python dict literal such
//! as `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 9), }`.

/// numpy's own limit on the header (`max_header_size` of `np.load`).
pub const MAX_HEADER_LEN: usize = 10_000;

/// Deepest bracket nesting a header of a plain array needs: the dict and
/// its shape tuple. Structured dtypes nest deeper; forcefit reads plain
/// float arrays only.
const MAX_DEPTH: usize = 4;

/// Bytes before the header: magic, version and the length field.
fn prefix_len(major: u8) -> Option<usize> {
    match major {
        1 => Some(10),
        2 | 3 => Some(12),
        _ => None,
    }
}

/// Checks the start of an `.npy` file (at least the magic, version,
/// length field and header; more bytes may follow).
pub fn check_header(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a valid .npy file: it does not start with \\x93NUMPY".into());
    }
    let major = bytes[6];
    let prefix = prefix_len(major).ok_or_else(|| {
        format!(
            "npy format version {major}.{} is not supported (1, 2 or 3)",
            bytes[7]
        )
    })?;
    let field = bytes
        .get(8..prefix)
        .ok_or("the file ends inside the npy header length")?;
    let len = field
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if len > MAX_HEADER_LEN {
        return Err(format!(
            "the npy header is {len} bytes long, more than numpy's limit of {MAX_HEADER_LEN}"
        ));
    }
    let header = bytes.get(prefix..prefix + len).ok_or_else(|| {
        format!(
            "the npy header says {len} bytes but the file ends after {}",
            bytes.len() - prefix
        )
    })?;
    let mut depth = 0usize;
    for &b in header {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_DEPTH {
            return Err(format!(
                "the npy header nests brackets deeper than a plain array's ({MAX_DEPTH}): \
                 structured dtypes are not supported"
            ));
        }
    }
    Ok(())
}

/// How many leading bytes [`check_header`] may need.
pub const MAX_PREFIX: usize = 12 + MAX_HEADER_LEN;

#[cfg(test)]
mod tests {
    use super::*;

    fn v1(header: &str) -> Vec<u8> {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend((header.len() as u16).to_le_bytes());
        b.extend(header.as_bytes());
        b
    }

    #[test]
    fn plain_headers_pass() {
        check_header(&v1(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 9), }\n",
        ))
        .unwrap();
    }

    #[test]
    fn long_truncated_or_nested_headers_fail() {
        let mut huge = b"\x93NUMPY\x03\x00".to_vec();
        huge.extend(0xff98_0001u32.to_le_bytes());
        assert!(check_header(&huge).unwrap_err().contains("limit of 10000"));
        let short = v1("{'descr': '<f8'}");
        assert!(
            check_header(&short[..15])
                .unwrap_err()
                .contains("file ends after")
        );
        let nested = v1(&format!("{{'descr': {}", "[".repeat(50)));
        assert!(
            check_header(&nested)
                .unwrap_err()
                .contains("structured dtypes")
        );
        assert!(
            check_header(b"\x93NUMPY\x09\x00ab")
                .unwrap_err()
                .contains("version 9")
        );
    }
}
