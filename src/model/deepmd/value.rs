//! Typed access to a parsed deepmd-kit model dict, with errors that name
//! the file and the key path (`model.descriptor.sel[1]`).

use crate::error::{Error, Result};
use serde_json::Value;
use std::path::Path;

/// A value in the dict, with where it is.
#[derive(Clone)]
pub(super) struct Node<'a> {
    pub value: &'a Value,
    pub path: String,
    pub file: &'a Path,
}

impl<'a> Node<'a> {
    /// The root of a parsed file.
    pub fn root(value: &'a Value, file: &'a Path) -> Self {
        Node {
            value,
            path: String::new(),
            file,
        }
    }

    /// An error about this node.
    pub fn error(&self, msg: impl std::fmt::Display) -> Error {
        let at = if self.path.is_empty() {
            "top level"
        } else {
            &self.path
        };
        Error::file(self.file, format!("{at}: {msg}"))
    }

    fn child(&self, key: &str, value: &'a Value) -> Node<'a> {
        let path = if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        };
        Node {
            value,
            path,
            file: self.file,
        }
    }

    /// A required key.
    pub fn get(&self, key: &str) -> Result<Node<'a>> {
        let map = self
            .value
            .as_object()
            .ok_or_else(|| self.error("expected a dict"))?;
        match map.get(key) {
            Some(v) => Ok(self.child(key, v)),
            None => Err(self.error(format!("missing key `{key}`"))),
        }
    }

    /// An optional key; `None` when absent or null.
    pub fn opt(&self, key: &str) -> Option<Node<'a>> {
        match self.value.as_object()?.get(key) {
            Some(Value::Null) | None => None,
            Some(v) => Some(self.child(key, v)),
        }
    }

    /// A number.
    pub fn f64(&self) -> Result<f64> {
        self.value
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| {
                self.error(format!(
                    "expected a finite number, got {}",
                    brief(self.value)
                ))
            })
    }

    /// A non-negative integer.
    pub fn usize(&self) -> Result<usize> {
        self.value
            .as_u64()
            .and_then(|x| usize::try_from(x).ok())
            .ok_or_else(|| {
                self.error(format!(
                    "expected a non-negative integer, got {}",
                    brief(self.value)
                ))
            })
    }

    /// A boolean.
    pub fn bool(&self) -> Result<bool> {
        self.value
            .as_bool()
            .ok_or_else(|| self.error(format!("expected true or false, got {}", brief(self.value))))
    }

    /// A string.
    pub fn str(&self) -> Result<&'a str> {
        self.value
            .as_str()
            .ok_or_else(|| self.error(format!("expected a string, got {}", brief(self.value))))
    }

    /// The elements of a list.
    pub fn list(&self) -> Result<Vec<Node<'a>>> {
        let items = self
            .value
            .as_array()
            .ok_or_else(|| self.error(format!("expected a list, got {}", brief(self.value))))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(k, v)| Node {
                value: v,
                path: format!("{}[{k}]", self.path),
                file: self.file,
            })
            .collect())
    }

    /// A list of non-negative integers.
    pub fn usize_list(&self) -> Result<Vec<usize>> {
        self.list()?.iter().map(Node::usize).collect()
    }

    /// A list of strings.
    pub fn str_list(&self) -> Result<Vec<String>> {
        self.list()?
            .iter()
            .map(|n| n.str().map(str::to_string))
            .collect()
    }

    /// A serialized numpy array (`{"@class": "np.ndarray", "dtype": …,
    /// "value": nested lists}`): its shape and elements in row-major order.
    /// Any float or integer dtype is read into f64.
    pub fn array(&self) -> Result<(Vec<usize>, Vec<f64>)> {
        if let Some(class) = self.opt("@class") {
            let c = class.str()?;
            if c != "np.ndarray" {
                return Err(class.error(format!("expected `np.ndarray`, got `{c}`")));
            }
        }
        let dtype = self.get("dtype")?;
        let name = dtype.str()?;
        if !(name.starts_with("float") || name.starts_with("int") || name == "bfloat16") {
            return Err(dtype.error(format!("unsupported dtype `{name}`")));
        }
        let value = self.get("value")?;
        let mut shape = Vec::new();
        let mut probe = value.value;
        while let Value::Array(items) = probe {
            shape.push(items.len());
            match items.first() {
                Some(first) => probe = first,
                None => break,
            }
        }
        let mut data = Vec::new();
        flatten(&value, value.value, &shape, &mut data)?;
        Ok((shape, data))
    }

    /// An array of the given shape.
    pub fn array_of(&self, expected: &[usize]) -> Result<Vec<f64>> {
        let (shape, data) = self.array()?;
        if shape != expected {
            return Err(self.error(format!("array of shape {shape:?}, expected {expected:?}")));
        }
        Ok(data)
    }
}

/// Appends the numbers of a rectangular nested list of `shape`.
fn flatten(at: &Node, v: &Value, shape: &[usize], out: &mut Vec<f64>) -> Result<()> {
    match (v, shape.split_first()) {
        (Value::Array(items), Some((&n, rest))) if items.len() == n => {
            for item in items {
                flatten(at, item, rest, out)?;
            }
            Ok(())
        }
        (Value::Number(x), None) => match x.as_f64() {
            Some(x) if x.is_finite() => {
                out.push(x);
                Ok(())
            }
            _ => Err(at.error(format!("array element {x} is not a finite number"))),
        },
        _ => Err(at.error("array is not a rectangular nested list of numbers")),
    }
}

/// A short rendering of a value for error messages.
fn brief(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 40 {
        format!("{}…", &s[..s.floor_char_boundary(40)])
    } else {
        s
    }
}
