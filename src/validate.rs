//! Small checks shared by the configuration readers: each returns a
//! message that names the key, for the caller to attach the file to.

/// `v` must be finite and > 0.
pub fn positive(v: f64, key: &str) -> std::result::Result<(), String> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!("{key} must be a positive number, got {v}"))
    }
}

/// `v` must be finite and ≥ 0.
pub fn non_negative(v: f64, key: &str) -> std::result::Result<(), String> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(format!("{key} must be a non-negative number, got {v}"))
    }
}
