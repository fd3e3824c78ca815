//! Reading one section of a deepmd-kit input: typed getters that remember
//! which keys were used, and the verdict on the keys left over (comments,
//! keys accepted with a warning, keys accepted only at their default, and
//! unknown keys). Every error names the key's dotted path and, when it can
//! be found in the text, its line.

use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;

/// Where errors point: the input file and its text.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    /// The input file.
    pub path: &'a Path,
    /// Its text, to find the line of a key.
    pub text: &'a str,
}

impl Source<'_> {
    /// An error about `key` (a dotted path), at its line when found.
    pub fn error(&self, key: &str, msg: impl std::fmt::Display) -> Error {
        let msg = format!("{key}: {msg}");
        match line_of(self.text, key) {
            Some(line) => Error::parse(self.path, line, msg),
            None => Error::file(self.path, msg),
        }
    }
}

/// The line of a dotted key path: each part searched after the previous
/// one, as `"part"` (JSON) or `part:` (YAML).
fn line_of(text: &str, key: &str) -> Option<usize> {
    let mut at = 0;
    for part in key.split('.') {
        let quoted = format!("\"{part}\"");
        let bare = format!("{part}:");
        let rest = &text[at..];
        // Past the whole needle, so that `at` stays on a character boundary.
        let (found, len) = [(&quoted, rest.find(&quoted)), (&bare, rest.find(&bare))]
            .into_iter()
            .filter_map(|(needle, pos)| pos.map(|p| (p, needle.len())))
            .min()?;
        at += found + len;
    }
    Some(text[..at].matches('\n').count() + 1)
}

/// How a key forcefit does not read is treated: `DefaultOnly` holds
/// deepmd-kit's default as JSON text.
pub type Treatment = crate::dropin::Treatment<&'static str>;

/// One section (a JSON object) of the input.
pub struct Section<'a> {
    source: Source<'a>,
    prefix: String,
    map: &'a Map<String, Value>,
    used: RefCell<BTreeSet<String>>,
}

impl<'a> Section<'a> {
    /// The object `value` at dotted path `prefix` ("" for the top level).
    pub fn new(source: Source<'a>, prefix: &str, value: &'a Value) -> Result<Self> {
        let map = value.as_object().ok_or_else(|| {
            let what = if prefix.is_empty() {
                "the input"
            } else {
                prefix
            };
            source.error(what, "expected an object (a {...} of keys)")
        })?;
        Ok(Section {
            source,
            prefix: prefix.to_string(),
            map,
            used: RefCell::new(BTreeSet::new()),
        })
    }

    /// The dotted path of `key` in this section.
    pub fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// An error about `key` of this section.
    pub fn error(&self, key: &str, msg: impl std::fmt::Display) -> Error {
        self.source.error(&self.path(key), msg)
    }

    /// The value of the first of `names` (a key and its aliases) present;
    /// `null` counts as absent, as in deepmd-kit.
    pub fn get(&self, names: &[&str]) -> Option<(&'a Value, String)> {
        for name in names {
            if self.map.contains_key(*name) {
                self.used.borrow_mut().insert(name.to_string());
            }
        }
        names.iter().find_map(|name| {
            self.map
                .get(*name)
                .filter(|v| !v.is_null())
                .map(|v| (v, name.to_string()))
        })
    }

    /// A sub-section, if present.
    pub fn section(&self, key: &str) -> Result<Option<Section<'a>>> {
        match self.get(&[key]) {
            Some((v, _)) => Ok(Some(Section::new(self.source, &self.path(key), v)?)),
            None => Ok(None),
        }
    }

    /// A finite number.
    pub fn number(&self, names: &[&str], default: f64) -> Result<f64> {
        let Some((v, key)) = self.get(names) else {
            return Ok(default);
        };
        v.as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| self.error(&key, format!("expected a number, got {v}")))
    }

    /// A non-negative whole number, if present.
    pub fn count(&self, names: &[&str]) -> Result<Option<usize>> {
        let Some((v, key)) = self.get(names) else {
            return Ok(None);
        };
        as_count(v)
            .map(Some)
            .ok_or_else(|| self.error(&key, format!("expected a non-negative integer, got {v}")))
    }

    /// A count of steps, epochs, frames or structures, at most
    /// [`MAX_COUNT`], if present.
    pub fn bounded_count(&self, names: &[&str]) -> Result<Option<usize>> {
        let Some(n) = self.count(names)? else {
            return Ok(None);
        };
        if n > MAX_COUNT {
            let key = self.get(names).map(|(_, k)| k).unwrap_or_default();
            return Err(self.error(&key, format!("{n} is too large: at most {MAX_COUNT}")));
        }
        Ok(Some(n))
    }

    /// A boolean.
    pub fn flag(&self, names: &[&str], default: bool) -> Result<bool> {
        let Some((v, key)) = self.get(names) else {
            return Ok(default);
        };
        v.as_bool()
            .ok_or_else(|| self.error(&key, format!("expected true or false, got {v}")))
    }

    /// A string, if present.
    pub fn string(&self, names: &[&str]) -> Result<Option<String>> {
        let Some((v, key)) = self.get(names) else {
            return Ok(None);
        };
        v.as_str()
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| self.error(&key, format!("expected a string, got {v}")))
    }

    /// A list of non-negative whole numbers, if present.
    pub fn counts(&self, names: &[&str]) -> Result<Option<Vec<usize>>> {
        let Some((v, key)) = self.get(names) else {
            return Ok(None);
        };
        let bad = || {
            self.error(
                &key,
                format!("expected a list of non-negative integers, got {v}"),
            )
        };
        let list = v.as_array().ok_or_else(bad)?;
        list.iter()
            .map(|x| as_count(x).ok_or_else(bad))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// A list of strings, if present.
    pub fn strings(&self, names: &[&str]) -> Result<Option<Vec<String>>> {
        let Some((v, key)) = self.get(names) else {
            return Ok(None);
        };
        let bad = || self.error(&key, format!("expected a list of strings, got {v}"));
        let list = v.as_array().ok_or_else(bad)?;
        list.iter()
            .map(|x| x.as_str().map(str::to_string).ok_or_else(bad))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// The verdict on every key not read: `_`-prefixed keys are comments;
    /// keys `treat` knows are warned about or checked against their
    /// default; anything else is an unknown key. Warnings go to `warnings`.
    pub fn finish(
        &self,
        treat: impl Fn(&str) -> Option<Treatment>,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let used = self.used.borrow();
        for (key, value) in self.map {
            if used.contains(key) || key.starts_with('_') {
                continue;
            }
            match treat(key) {
                Some(Treatment::Warned(why)) => {
                    warnings.push(format!("{}: ignored ({why})", self.path(key)));
                }
                Some(Treatment::DefaultOnly(default, why)) => {
                    let default: Value = serde_json::from_str(default).unwrap_or(Value::Null);
                    if !same(value, &default) && !value.is_null() {
                        return Err(self.error(key, format!("{value} is not supported: {why}")));
                    }
                }
                Some(Treatment::Refused(why)) => {
                    return Err(self.error(key, format!("not supported: {why}")));
                }
                None => {
                    let known: Vec<&String> = used.iter().collect();
                    let hint = if known.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (this section's keys that forcefit read: {})",
                            known
                                .iter()
                                .map(|k| k.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    };
                    return Err(self.error(
                        key,
                        format!("unknown or unsupported key{hint}; see docs/dp-command.md"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Numbers compare by value (`1` equals `1.0`), everything else exactly.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Largest step, epoch, frequency or batch count taken from a deepmd-kit
/// input: the products the mapping forms of two of them (steps × batch
/// size) then fit in 64 bits.
pub const MAX_COUNT: usize = 1_000_000_000;

fn as_count(v: &Value) -> Option<usize> {
    if let Some(n) = v.as_u64() {
        return usize::try_from(n).ok();
    }
    // 4.0 is a whole number too (YAML and some writers).
    let x = v.as_f64()?;
    (x >= 0.0 && x.fract() == 0.0 && x < 1e15).then_some(x as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_nested_keys() {
        let text = "{\n \"model\": {\n  \"neuron\": [1],\n  \"fitting_net\": {\n   \"neuron\": [2]\n  }\n }\n}";
        assert_eq!(line_of(text, "model.neuron"), Some(3));
        assert_eq!(line_of(text, "model.fitting_net.neuron"), Some(5));
        assert_eq!(line_of(text, "model.nothing"), None);
        let yaml = "model:\n  descriptor:\n    type: se_atten\n";
        assert_eq!(line_of(yaml, "model.descriptor.type"), Some(3));
        // Keys the user wrote in any script, found without splitting a character.
        let text = "{\n \"modèle\": {\n  \"é\": 1\n }\n}";
        assert_eq!(line_of(text, "modèle.é"), Some(3));
        assert_eq!(line_of("modèle:\n  é: 1\n", "modèle.é"), Some(2));
    }
}
