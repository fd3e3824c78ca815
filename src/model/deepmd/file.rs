//! deepmd-kit v3's serialized model dict, as `.yaml` (what deepmd-kit's
//! `save_dp_model` writes and its numpy backend loads) or as `.json` (the
//! same dict).
//!
//! Layout (see `deepmd/dpmodel/utils/serialization.py` and the
//! `serialize` methods of `dpmodel`): top level `{"@variables": {},
//! model, model_def_script, software, version, …}`; `model` is the
//! standard atomic model (`@class: Model`, `type: standard`, `type_map`,
//! `descriptor`, `fitting`, `@variables` out_bias/out_std of shape
//! 1 × n_types × 1, `atom_exclude_types`, `pair_exclude_types`); arrays are
//! `{"@class": "np.ndarray", "dtype", "value": nested lists}`.
//!
//! Read: se_e2_a descriptors with the `ener` fitting. Refused, with the key
//! named: other descriptors and models, compressed models, spin, frame or
//! atomic parameters, case embeddings, non-empty exclusion lists, a shared
//! (`mixed_types`) fitting, `atom_ener`, `tot_ener_zero`, the exponential
//! switch. Any float precision is accepted and computed in f64; the
//! precision names are written back as read (arrays carry the component's
//! dtype, so deepmd-kit rounds them as it would its own).
//!
//! Written: the keys deepmd-kit 3.0 writes (which every 3.x reads), from
//! the model's current state; every array round-trips exactly (shortest
//! round-trip decimal floats).

use super::value::Node;
use super::{DeepPot, DeepPotHyper, DeepPotStats};
use crate::error::{Error, Result};
use crate::nn::{Activation, Layer, Network};
use serde_json::{Map, Value, json};
use std::path::Path;

/// What a file says that the computation does not use, kept for writing.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    /// Precision name of the descriptor.
    pub descriptor_precision: Option<String>,
    /// Precision name of the fitting.
    pub fitting_precision: Option<String>,
    /// The training input deepmd-kit embeds.
    pub model_def_script: Option<Value>,
}

/// Whether `text` looks like a deepmd-kit model dict (YAML or JSON with a
/// `model` holding a `descriptor`), without parsing it.
pub fn looks_like_deepmd(text: &str) -> bool {
    let head = text.trim_start();
    if head.starts_with('{') {
        return text.contains("\"model\"") && text.contains("\"descriptor\"");
    }
    let mut in_model = false;
    for line in text.lines() {
        if line.trim_end() == "model:" {
            in_model = true;
        } else if in_model {
            let trimmed = line.trim_start();
            if !line.starts_with(' ') && !trimmed.is_empty() && !trimmed.starts_with('#') {
                in_model = false;
            } else if trimmed.starts_with("descriptor:") {
                return true;
            }
        }
    }
    false
}

/// Parses the text of a model file (JSON when it starts with `{`, else YAML).
pub fn parse(text: &str, path: &Path) -> Result<DeepPot> {
    let value: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| Error::file(path, format!("invalid JSON: {e}")))?
    } else {
        serde_yaml_ng::from_str(text)
            .map_err(|e| Error::file(path, format!("invalid YAML: {e}")))?
    };
    let root = Node::root(&value, path);
    let model = root.get("model")?;
    read_model(
        &model,
        root.opt("model_def_script").map(|n| n.value.clone()),
    )
}

/// Refuses a key whose value is set (not absent, null, false, 0 or empty).
fn refuse_if_set(node: &Node, key: &str, what: &str) -> Result<()> {
    if let Some(v) = node.opt(key) {
        let set = match v.value {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64() != Some(0.0),
            Value::Array(a) => !a.is_empty() && !a.iter().all(Value::is_null),
            Value::Object(o) => !o.is_empty(),
            Value::String(_) => true,
            Value::Null => false,
        };
        if set {
            return Err(v.error(format!("{what} is not supported")));
        }
    }
    Ok(())
}

/// Checks an optional `@class` tag.
fn expect_class(node: &Node, class: &str) -> Result<()> {
    if let Some(c) = node.opt("@class") {
        let got = c.str()?;
        if got != class {
            return Err(c.error(format!("expected `{class}`, got `{got}`")));
        }
    }
    Ok(())
}

fn read_model(model: &Node, model_def_script: Option<Value>) -> Result<DeepPot> {
    expect_class(model, "Model")?;
    let kind = model.get("type")?;
    if kind.str()? != "standard" {
        return Err(kind.error(format!(
            "model type `{}` is not supported (forcefit reads standard se_e2_a + ener models)",
            kind.str()?
        )));
    }
    refuse_if_set(model, "atom_exclude_types", "excluding atom types")?;
    refuse_if_set(model, "pair_exclude_types", "excluding type pairs")?;
    let type_map = model.get("type_map")?.str_list()?;
    let nt = type_map.len();
    let descriptor = model.get("descriptor")?;
    let fitting = model.get("fitting")?;
    let (mut hyper, embeddings, mut params, davg, dstd) = read_descriptor(&descriptor, type_map)?;
    let (fittings, fit_params, bias_atom_e) = read_fitting(&fitting, &mut hyper)?;
    params.extend(fit_params);
    let vars = model.get("@variables")?;
    let out_bias = vars.get("out_bias")?.array_of(&[1, nt, 1])?;
    let out_std = vars.get("out_std")?.array_of(&[1, nt, 1])?;
    let stats = DeepPotStats {
        davg,
        dstd,
        bias_atom_e,
        out_bias,
        out_std,
    };
    let mut pot =
        DeepPot::new(hyper, embeddings, fittings, params, stats).map_err(|e| model.error(e))?;
    pot.meta = Meta {
        descriptor_precision: descriptor
            .opt("precision")
            .and_then(|p| p.str().ok().map(String::from)),
        fitting_precision: fitting
            .opt("precision")
            .and_then(|p| p.str().ok().map(String::from)),
        model_def_script,
    };
    // a model trained with float32 embeddings (or deepmd-kit's float32
    // descriptor) is evaluated as it was trained
    if pot.meta.descriptor_precision.as_deref() == Some("float32") {
        pot.precision = crate::nn::Precision::Float32;
    }
    if pot.meta.fitting_precision.as_deref() == Some("float32") {
        pot.set_fitting_precision(crate::nn::Precision::Float32);
    }
    Ok(pot)
}

/// An activation name at `node`.
fn activation(node: &Node) -> Result<Activation> {
    let name = node.str()?;
    Activation::parse(name)
        .ok_or_else(|| node.error(format!("unknown activation function `{name}`")))
}

/// The descriptor's hyperparameters, networks, parameters, davg and dstd.
#[allow(clippy::type_complexity)]
fn read_descriptor(
    d: &Node,
    type_map: Vec<String>,
) -> Result<(DeepPotHyper, Vec<Network>, Vec<f64>, Vec<f64>, Vec<f64>)> {
    expect_class(d, "Descriptor")?;
    let kind = d.get("type")?;
    let name = kind.str()?;
    if name != "se_e2_a" && name != "se_a" {
        return Err(kind.error(format!(
            "descriptor `{name}` is not supported (forcefit computes se_e2_a)"
        )));
    }
    refuse_if_set(d, "compress", "a compressed model (tabulated embedding)")?;
    refuse_if_set(d, "spin", "spin")?;
    refuse_if_set(d, "exclude_types", "excluding type pairs")?;
    if let Some(env) = d.opt("env_mat") {
        refuse_if_set(&env, "use_exp_switch", "the exponential switch")?;
    }
    let hyper = DeepPotHyper {
        type_map,
        rcut: d.get("rcut")?.f64()?,
        rcut_smth: d.get("rcut_smth")?.f64()?,
        sel: d.get("sel")?.usize_list()?,
        neuron: d.get("neuron")?.usize_list()?,
        axis_neuron: d.get("axis_neuron")?.usize()?,
        resnet_dt: d.opt("resnet_dt").map_or(Ok(false), |n| n.bool())?,
        type_one_side: d.get("type_one_side")?.bool()?,
        env_protection: d.opt("env_protection").map_or(Ok(0.0), |n| n.f64())?,
        set_davg_zero: d.opt("set_davg_zero").map_or(Ok(false), |n| n.bool())?,
        activation_function: d
            .opt("activation_function")
            .map_or(Ok(Activation::Tanh), |n| activation(&n))?,
        fitting_neuron: Vec::new(),
        fitting_resnet_dt: true,
        fitting_activation_function: Activation::Tanh,
    };
    let nt = hyper.n_types();
    let sel_key = d.get("sel")?;
    if hyper.sel.len() != nt {
        return Err(sel_key.error(format!("{} entries for {nt} types", hyper.sel.len())));
    }
    hyper.validate().map_err(|e| d.error(e))?;
    let ndim = if hyper.type_one_side { 1 } else { 2 };
    let (embeddings, params) =
        read_collection(&d.get("embeddings")?, ndim, nt, "EmbeddingNetwork")?;
    let vars = d.get("@variables")?;
    let shape = [nt, hyper.n_slots(), 4];
    let davg = vars.get("davg")?.array_of(&shape)?;
    let dstd = vars.get("dstd")?.array_of(&shape)?;
    Ok((hyper, embeddings, params, davg, dstd))
}

/// The fitting's networks, parameters and bias_atom_e; fills the fitting
/// part of `hyper`.
fn read_fitting(f: &Node, hyper: &mut DeepPotHyper) -> Result<(Vec<Network>, Vec<f64>, Vec<f64>)> {
    expect_class(f, "Fitting")?;
    let kind = f.get("type")?;
    if kind.str()? != "ener" {
        return Err(kind.error(format!(
            "fitting `{}` is not supported (forcefit fits energies: `ener`)",
            kind.str()?
        )));
    }
    refuse_if_set(f, "numb_fparam", "frame parameters (numb_fparam > 0)")?;
    refuse_if_set(f, "numb_aparam", "atomic parameters (numb_aparam > 0)")?;
    refuse_if_set(f, "dim_case_embd", "case embeddings (dim_case_embd > 0)")?;
    refuse_if_set(
        f,
        "mixed_types",
        "one fitting network shared by all types (mixed_types)",
    )?;
    refuse_if_set(f, "exclude_types", "excluding atom types")?;
    refuse_if_set(f, "atom_ener", "preset atomic energies (atom_ener)")?;
    refuse_if_set(f, "tot_ener_zero", "tot_ener_zero")?;
    refuse_if_set(f, "spin", "spin")?;
    if let Some(n) = f.opt("dim_out")
        && n.usize()? != 1
    {
        return Err(n.error("an energy fitting must have dim_out = 1"));
    }
    hyper.fitting_neuron = f.get("neuron")?.usize_list()?;
    hyper.fitting_resnet_dt = f.opt("resnet_dt").map_or(Ok(true), |n| n.bool())?;
    hyper.fitting_activation_function = f
        .opt("activation_function")
        .map_or(Ok(Activation::Tanh), |n| activation(&n))?;
    let nt = hyper.n_types();
    let (nets, params) = read_collection(&f.get("nets")?, 1, nt, "FittingNetwork")?;
    let bias = f
        .get("@variables")?
        .get("bias_atom_e")?
        .array_of(&[nt, 1])?;
    Ok((nets, params, bias))
}

/// A `NetworkCollection` of n_types^ndim networks.
fn read_collection(
    c: &Node,
    ndim: usize,
    nt: usize,
    class: &str,
) -> Result<(Vec<Network>, Vec<f64>)> {
    expect_class(c, "NetworkCollection")?;
    let got = c.get("ndim")?;
    if got.usize()? != ndim {
        return Err(got.error(format!("expected {ndim} (from type_one_side)")));
    }
    let got = c.get("ntypes")?;
    if got.usize()? != nt {
        return Err(got.error(format!("expected {nt} types (from type_map)")));
    }
    let list = c.get("networks")?.list()?;
    let expected = nt.pow(ndim as u32);
    if list.len() != expected {
        return Err(c
            .get("networks")?
            .error(format!("{} networks, expected {expected}", list.len())));
    }
    let mut nets = Vec::with_capacity(expected);
    let mut params = Vec::new();
    for node in &list {
        expect_class(node, class)?;
        let mut layers = Vec::new();
        for layer in node.get("layers")?.list()? {
            layers.push(read_layer(&layer, &mut params)?);
        }
        let net = Network::new(layers);
        net.check().map_err(|e| node.error(e))?;
        nets.push(net);
    }
    Ok((nets, params))
}

/// One `Layer`: appends w, b, idt to `params`.
fn read_layer(l: &Node, params: &mut Vec<f64>) -> Result<Layer> {
    expect_class(l, "Layer")?;
    let vars = l.get("@variables")?;
    let w_node = vars.get("w")?;
    let (shape, w) = w_node.array()?;
    let [n_in, n_out] = shape[..] else {
        return Err(w_node.error(format!("w must be a matrix, got shape {shape:?}")));
    };
    params.extend(w);
    let mut vector = |key: &str| -> Result<bool> {
        match vars.opt(key) {
            None => Ok(false),
            Some(n) => {
                let (shape, v) = n.array()?;
                if v.len() != n_out || shape.len() > 2 {
                    return Err(n.error(format!("shape {shape:?}, expected [{n_out}]")));
                }
                params.extend(v);
                Ok(true)
            }
        }
    };
    let bias = vector("b")?;
    let timestep = vector("idt")?;
    let activation = match l.opt("activation_function") {
        Some(n) => activation(&n)?,
        None => Activation::Identity,
    };
    let resnet = l.opt("resnet").map_or(Ok(false), |n| n.bool())?;
    Ok(Layer {
        n_in,
        n_out,
        bias,
        timestep,
        resnet,
        activation,
    })
}

/// deepmd-kit's array dict for `data` of `shape`.
fn array(data: &[f64], shape: &[usize], dtype: &str) -> Value {
    json!({
        "@class": "np.ndarray",
        "@is_variable": true,
        "@version": 1,
        "dtype": dtype,
        "value": nest(data, shape),
    })
}

/// Nested lists of `shape` from row-major `data`.
fn nest(data: &[f64], shape: &[usize]) -> Value {
    match shape.split_first() {
        None => json!(data[0]),
        Some((_, [])) => Value::Array(data.iter().map(|&x| json!(x)).collect()),
        Some((&n, rest)) => {
            let stride: usize = rest.iter().product();
            Value::Array(
                (0..n)
                    .map(|k| nest(&data[k * stride..(k + 1) * stride], rest))
                    .collect(),
            )
        }
    }
}

/// The numpy dtype name of a deepmd-kit precision name.
fn dtype_of(precision: &str) -> &'static str {
    match precision {
        "float32" | "single" => "float32",
        "float16" | "half" => "float16",
        "bfloat16" => "bfloat16",
        _ => "float64",
    }
}

impl DeepPot {
    /// Reads a deepmd-kit model file (`.yaml` or `.json`).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        parse(&text, path)
    }

    /// The model as deepmd-kit's serialized dict.
    pub fn to_value(&self) -> Value {
        let mut top = Map::new();
        top.insert("@variables".into(), json!({}));
        top.insert("model".into(), self.model_value());
        top.insert(
            "model_def_script".into(),
            self.meta
                .model_def_script
                .clone()
                .unwrap_or_else(|| self.model_def_script()),
        );
        top.insert("software".into(), json!("forcefit"));
        top.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
        Value::Object(top)
    }

    /// The dict as YAML text.
    pub fn to_yaml_string(&self) -> Result<String> {
        serde_yaml_ng::to_string(&self.to_value())
            .map_err(|e| Error::Invalid(format!("cannot write the model as YAML: {e}")))
    }

    /// The dict as JSON text.
    pub fn to_json_string(&self) -> String {
        self.to_value().to_string()
    }

    /// Writes the model atomically: JSON for a `.json` path, else YAML.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let text = if json {
            self.to_json_string()
        } else {
            self.to_yaml_string()?
        };
        crate::io::write_atomic(path, |w| w.write_all(text.as_bytes()))
    }

    fn precisions(&self) -> (&str, &str) {
        (
            self.meta
                .descriptor_precision
                .as_deref()
                .unwrap_or("float64"),
            self.meta.fitting_precision.as_deref().unwrap_or("float64"),
        )
    }

    fn model_value(&self) -> Value {
        let h = &self.hyper;
        let nt = h.n_types();
        json!({
            "@class": "Model",
            "@version": 2,
            "@variables": {
                "out_bias": array(&self.stats.out_bias, &[1, nt, 1], "float64"),
                "out_std": array(&self.stats.out_std, &[1, nt, 1], "float64"),
            },
            "atom_exclude_types": [],
            "pair_exclude_types": [],
            "preset_out_bias": null,
            "rcond": null,
            "type": "standard",
            "type_map": h.type_map,
            "descriptor": self.descriptor_value(),
            "fitting": self.fitting_value(),
        })
    }

    fn descriptor_value(&self) -> Value {
        let h = &self.hyper;
        let (precision, _) = self.precisions();
        let dtype = dtype_of(precision);
        let shape = [h.n_types(), h.n_slots(), 4];
        let nets: Vec<Value> = (0..self.embeddings.len())
            .map(|e| {
                json!({
                    "@class": "EmbeddingNetwork",
                    "@version": 2,
                    "activation_function": h.activation_function.name(),
                    "bias": self.embeddings[e].layers.first().is_none_or(|l| l.bias),
                    "in_dim": 1,
                    "neuron": h.neuron,
                    "precision": precision,
                    "resnet_dt": h.resnet_dt,
                    "layers": self.layers_value(e, precision),
                })
            })
            .collect();
        json!({
            "@class": "Descriptor",
            "@version": 2,
            "@variables": {
                "davg": array(&self.stats.davg, &shape, dtype),
                "dstd": array(&self.stats.dstd, &shape, dtype),
            },
            "type": "se_e2_a",
            "activation_function": h.activation_function.name(),
            "axis_neuron": h.axis_neuron,
            "embeddings": collection(if h.type_one_side { 1 } else { 2 }, h.n_types(), "embedding_network", nets),
            "env_mat": {"rcut": h.rcut, "rcut_smth": h.rcut_smth},
            "env_protection": h.env_protection,
            "exclude_types": [],
            "neuron": h.neuron,
            "precision": precision,
            "rcut": h.rcut,
            "rcut_smth": h.rcut_smth,
            "resnet_dt": h.resnet_dt,
            "sel": h.sel,
            "set_davg_zero": h.set_davg_zero,
            "spin": null,
            "trainable": true,
            "type_map": h.type_map,
            "type_one_side": h.type_one_side,
        })
    }

    fn fitting_value(&self) -> Value {
        let h = &self.hyper;
        let (_, precision) = self.precisions();
        let first = self.embeddings.len();
        let nets: Vec<Value> = (0..h.n_types())
            .map(|t| {
                json!({
                    "@class": "FittingNetwork",
                    "@version": 1,
                    "activation_function": h.fitting_activation_function.name(),
                    "bias_out": self.fittings[t].layers.last().is_none_or(|l| l.bias),
                    "in_dim": h.descriptor_dim(),
                    "neuron": h.fitting_neuron,
                    "out_dim": 1,
                    "precision": precision,
                    "resnet_dt": h.fitting_resnet_dt,
                    "layers": self.layers_value(first + t, precision),
                })
            })
            .collect();
        json!({
            "@class": "Fitting",
            "@version": 2,
            "@variables": {
                "bias_atom_e": array(&self.stats.bias_atom_e, &[h.n_types(), 1], "float64"),
                "aparam_avg": null,
                "aparam_inv_std": null,
                "fparam_avg": null,
                "fparam_inv_std": null,
            },
            "type": "ener",
            "activation_function": h.fitting_activation_function.name(),
            "atom_ener": null,
            "dim_descrpt": h.descriptor_dim(),
            "dim_out": 1,
            "exclude_types": [],
            "layer_name": null,
            "mixed_types": false,
            "nets": collection(1, h.n_types(), "fitting_network", nets),
            "neuron": h.fitting_neuron,
            "ntypes": h.n_types(),
            "numb_aparam": 0,
            "numb_fparam": 0,
            "precision": precision,
            "rcond": null,
            "resnet_dt": h.fitting_resnet_dt,
            "spin": null,
            "tot_ener_zero": false,
            "trainable": vec![true; h.fitting_neuron.len() + 1],
            "type_map": h.type_map,
            "use_aparam_as_mask": false,
            "var_name": "energy",
        })
    }

    /// The layers of network `k` (embeddings, then fittings).
    fn layers_value(&self, k: usize, precision: &str) -> Value {
        let net = if k < self.embeddings.len() {
            &self.embeddings[k]
        } else {
            &self.fittings[k - self.embeddings.len()]
        };
        let p = &self.params[self.net_range(k)];
        let starts = net.layer_starts();
        let dtype = dtype_of(precision);
        let layers = net.layers.iter().enumerate().map(|(l, layer)| {
            let (w, b, idt) = layer.split(&p[starts[l]..starts[l + 1]]);
            let vec_or_null =
                |v: Option<&[f64]>| v.map_or(Value::Null, |v| array(v, &[v.len()], dtype));
            json!({
                "@class": "Layer",
                "@version": 1,
                "@variables": {
                    "w": array(w, &[layer.n_in, layer.n_out], dtype),
                    "b": vec_or_null(b),
                    "idt": vec_or_null(idt),
                },
                "activation_function": layer.activation.name(),
                "bias": layer.bias,
                "precision": precision,
                "resnet": layer.resnet,
                "use_timestep": layer.timestep,
            })
        });
        Value::Array(layers.collect())
    }

    /// deepmd-kit's training input for this model, when the file had none.
    fn model_def_script(&self) -> Value {
        let h = &self.hyper;
        let (dp, fp) = self.precisions();
        json!({
            "type_map": h.type_map,
            "descriptor": {
                "type": "se_e2_a",
                "sel": h.sel,
                "rcut": h.rcut,
                "rcut_smth": h.rcut_smth,
                "neuron": h.neuron,
                "axis_neuron": h.axis_neuron,
                "resnet_dt": h.resnet_dt,
                "type_one_side": h.type_one_side,
                "env_protection": h.env_protection,
                "set_davg_zero": h.set_davg_zero,
                "activation_function": h.activation_function.name(),
                "precision": dp,
            },
            "fitting_net": {
                "type": "ener",
                "neuron": h.fitting_neuron,
                "resnet_dt": h.fitting_resnet_dt,
                "activation_function": h.fitting_activation_function.name(),
                "precision": fp,
            },
        })
    }
}

/// A `NetworkCollection` dict.
fn collection(ndim: usize, nt: usize, kind: &str, networks: Vec<Value>) -> Value {
    json!({
        "@class": "NetworkCollection",
        "@version": 1,
        "ndim": ndim,
        "ntypes": nt,
        "network_type": kind,
        "networks": networks,
    })
}
