//! What `--resume` may change: the settings a checkpoint was written with
//! are compared with the configuration it is resumed under, and a
//! difference in anything that shapes the model, the data, the loss or the
//! optimizer is refused, naming each key that changed.
//!
//! May change (see the table in docs/training.md): the run length
//! (`train.epochs`, `train.steps`, `train.time_limit`), `train.threads`,
//! the learning-rate floor `optimizer.lr_min` (the decay is recomputed
//! from it), and the other `[train]` keys that only schedule outputs.
//! Everything in `[data]`, `[model]`, `[loss]` and `[optimizer]` (but
//! `lr_min`) and `train.seed` may not.

use crate::error::{Error, Result};
use crate::train::config::TrainConfig;
use std::path::Path;

/// At most this many changed keys are listed in a message.
const MAX_LISTED: usize = 8;
/// Values longer than this are shortened in messages.
const MAX_VALUE_CHARS: usize = 60;

/// Refuses to resume under `new_text` a checkpoint written under
/// `old_text` (both TOML) when a setting that may not change did.
pub fn check_same_settings(old_text: &str, new_text: &str, checkpoint: &Path) -> Result<()> {
    let old = parse(old_text, "the checkpoint's configuration")?;
    let new = parse(new_text, "the configuration")?;
    let changed = changed_settings(&old, &new)?;
    if changed.is_empty() {
        return Ok(());
    }
    let mut list = changed
        .iter()
        .take(MAX_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if changed.len() > MAX_LISTED {
        list.push_str(&format!("; and {} more", changed.len() - MAX_LISTED));
    }
    Err(Error::file(
        checkpoint,
        format!(
            "cannot resume: the checkpoint was written with different settings: {list}. \
             Only the run length (train.epochs, train.steps, train.time_limit), train.threads, \
             optimizer.lr_min and the output schedule may change on --resume \
             (see docs/training.md)"
        ),
    ))
}

fn parse(text: &str, what: &str) -> Result<TrainConfig> {
    toml::from_str(text).map_err(|e| Error::Invalid(format!("{what}: {e}")))
}

/// Each setting that may not change and did, as `key: old → new`, in the
/// order of the configuration file.
pub fn changed_settings(old: &TrainConfig, new: &TrainConfig) -> Result<Vec<String>> {
    let key = |c: &TrainConfig| -> Result<Vec<(&'static str, toml::Value)>> {
        let mut optimizer = c.optimizer.clone();
        optimizer.lr_min = 0.0;
        Ok(vec![
            ("data", to_value(&c.data)?),
            ("model", to_value(&c.model)?),
            ("loss", to_value(&c.loss)?),
            ("optimizer", to_value(&optimizer)?),
            ("train.seed", seed_value(c.run.seed)),
        ])
    };
    let mut out = Vec::new();
    for ((name, a), (_, b)) in key(old)?.into_iter().zip(key(new)?) {
        diff(name, Some(&a), Some(&b), &mut out);
    }
    Ok(out)
}

/// A seed as TOML: an integer where TOML has one (up to 2⁶³ − 1).
fn seed_value(seed: u64) -> toml::Value {
    i64::try_from(seed)
        .map(toml::Value::Integer)
        .unwrap_or_else(|_| toml::Value::String(seed.to_string()))
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<toml::Value> {
    toml::Value::try_from(v)
        .map_err(|e| Error::Invalid(format!("cannot compare configurations: {e}")))
}

/// Appends the leaves that differ between `a` and `b` below `path`.
fn diff(path: &str, a: Option<&toml::Value>, b: Option<&toml::Value>, out: &mut Vec<String>) {
    if let (Some(toml::Value::Table(x)), Some(toml::Value::Table(y))) = (a, b) {
        let mut keys: Vec<&String> = x.keys().collect();
        keys.extend(y.keys().filter(|k| !x.contains_key(*k)));
        for k in keys {
            diff(&format!("{path}.{k}"), x.get(k), y.get(k), out);
        }
        return;
    }
    if a != b {
        out.push(format!("{path}: {} → {}", show(a), show(b)));
    }
}

fn show(v: Option<&toml::Value>) -> String {
    let Some(v) = v else {
        return "(not set)".into();
    };
    let text = v.to_string();
    if text.chars().count() <= MAX_VALUE_CHARS {
        return text;
    }
    let cut: String = text.chars().take(MAX_VALUE_CHARS).collect();
    format!("{cut}…")
}
