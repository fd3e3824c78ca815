//! `[model]` keys of the NEP family (`family = "nep"`, the default), with
//! GPUMD's `nep.in` names and defaults.

use super::angular::AngularTerms;
use super::{MAX_CHANNEL, MAX_NEURONS, NepHyper, TypewiseCutoff, Zbl};
use crate::elements;
use crate::validate::positive;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Largest radial cutoff forcefit trains with, Å.
const MAX_RADIAL_CUTOFF: f64 = 20.0;
/// GPUMD's smallest typewise ZBL factor (`use_typewise_cutoff_zbl`).
pub const MIN_TYPEWISE_ZBL_FACTOR: f64 = 0.5;
/// GPUMD's smallest angular typewise cutoff factor (`use_typewise_cutoff`).
pub const MIN_TYPEWISE_ANGULAR_FACTOR: f64 = 1.5;

/// `model.cutoff`: one (radial, angular) pair for every element, `[8, 4]`,
/// or a pair per element keyed by symbol, `{ Mo = [6, 4], Si = [5, 4] }`
/// (GPUMD's per-element cutoffs: a pair of elements uses the mean of
/// their cutoffs). Keyed by symbol rather than a flat list, so that the
/// meaning does not depend on the type order, which `model.type` may leave
/// to the training data.
#[derive(Clone, Debug, PartialEq)]
pub enum Cutoff {
    /// The same radial and angular cutoff for every element.
    Uniform([f64; 2]),
    /// Radial and angular cutoffs of each element.
    PerElement(BTreeMap<String, [f64; 2]>),
}

impl Cutoff {
    /// The largest radial cutoff.
    pub fn max_radial(&self) -> f64 {
        match self {
            Cutoff::Uniform(c) => c[0],
            Cutoff::PerElement(m) => m.values().map(|c| c[0]).fold(0.0, f64::max),
        }
    }

    /// The cutoffs in nep.in's words: `rc_R rc_A`, or a pair per element
    /// of `order`.
    pub fn words(&self, order: &[String]) -> String {
        match self {
            Cutoff::Uniform([r, a]) => format!("{r} {a}"),
            Cutoff::PerElement(table) => order
                .iter()
                .map(|s| {
                    table
                        .get(s)
                        .map_or("? ?".into(), |[r, a]| format!("{r} {a}"))
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// The (radial, angular) cutoffs of each of `species`, in order; an
    /// element missing from a per-element table is an error.
    pub fn for_species(&self, species: &[String]) -> std::result::Result<Vec<[f64; 2]>, String> {
        species
            .iter()
            .map(|s| match self {
                Cutoff::Uniform(c) => Ok(*c),
                Cutoff::PerElement(m) => m.get(s).copied().ok_or_else(|| {
                    format!("model.cutoff has no cutoffs for {s}, an element of the model")
                }),
            })
            .collect()
    }
}

/// Lets `config.cutoff == [8.0, 4.0]` read as it looks.
impl PartialEq<[f64; 2]> for Cutoff {
    fn eq(&self, other: &[f64; 2]) -> bool {
        matches!(self, Cutoff::Uniform(c) if c == other)
    }
}

impl Serialize for Cutoff {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Cutoff::Uniform(c) => c.serialize(s),
            Cutoff::PerElement(m) => m.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Cutoff {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Cutoff;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "[radial, angular] or a table of [radial, angular] per element, e.g. { Mo = [6, 4], Si = [5, 4] }",
                )
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> std::result::Result<Cutoff, A::Error> {
                let pair =
                    <[f64; 2]>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Cutoff::Uniform(pair))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Cutoff, A::Error> {
                let table = BTreeMap::<String, [f64; 2]>::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(Cutoff::PerElement(table))
            }
        }
        d.deserialize_any(Visitor)
    }
}
/// Most angular descriptor components GPUMD trains (and NEP_CPU sizes for).
pub const MAX_DIM_ANGULAR: usize = 90;

/// NEP hyperparameters with GPUMD's names and defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NepConfig {
    /// Element symbols in type order (default: the elements of the training
    /// set, by atomic number).
    #[serde(default, rename = "type")]
    pub species: Option<Vec<String>>,
    /// NEP version (3, 4, or 5: NEP4 with a per-element output bias).
    #[serde(default = "default_version")]
    pub version: u32,
    /// Radial and angular cutoffs, Å, for all elements or per element.
    #[serde(default = "default_cutoff")]
    pub cutoff: Cutoff,
    /// Radial and angular n_max.
    #[serde(default = "default_n_max")]
    pub n_max: [usize; 2],
    /// Radial and angular Chebyshev basis sizes.
    #[serde(default = "default_basis")]
    pub basis_size: [usize; 2],
    /// GPUMD's `l_max` values: L3 (3-body, up to 8), then q_222 (0, or 1
    /// or 2 for on), q_1111, q_112, q_123, q_233, q_134 (0 or 1); 1 to 7
    /// values, absent ones at GPUMD's defaults (q_222 on, the rest off).
    /// `[4, 2, 0]` is the old three-number form.
    #[serde(default = "default_l_max")]
    pub l_max: Vec<usize>,
    /// Hidden neurons.
    #[serde(default = "default_neuron")]
    pub neuron: usize,
    /// Outer ZBL cutoff (inner = half of it); absent: no ZBL.
    #[serde(default)]
    pub zbl: Option<f64>,
    /// Typewise ZBL (GPUMD's `use_typewise_cutoff_zbl`): each pair's ZBL
    /// switches off between 0 and min(factor · (R_cov,i + R_cov,j), zbl),
    /// written on nep.txt's `zbl` line. Needs `zbl`.
    #[serde(default)]
    pub typewise_cutoff_zbl: Option<f64>,
    /// Typewise radial and angular cutoff factors (older GPUMD's
    /// `use_typewise_cutoff`): a pair's cutoffs are min(f · (R_cov,i +
    /// R_cov,j), cutoff). Written as the 8-token `cutoff` line, which only
    /// NEP_CPU versions before December 2025 read.
    #[serde(default)]
    pub typewise_cutoff: Option<[f64; 2]>,
    /// Start from this nep.txt instead of random parameters: its
    /// architecture is used, and it is reduced to the run's elements when
    /// it has more (fine-tuning a foundation model).
    #[serde(default)]
    pub init: Option<PathBuf>,
    /// With `init`: recompute q_scaler from the training data instead of
    /// keeping the file's (GPUMD's fine-tuning keeps it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub init_rescale: bool,
    /// The keys the `[model]` table set (serde's defaults hide which were
    /// given): with `init`, those of the architecture must agree with it.
    #[serde(skip)]
    pub explicit: GivenKeys,
}

/// Keys given in a TOML table. How a setting was written is not part of
/// the settings: two configurations with the same values are equal (a
/// resumed run compares them) whichever keys spelled out the defaults.
#[derive(Clone, Debug, Default)]
pub struct GivenKeys(pub Vec<String>);

impl PartialEq for GivenKeys {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl GivenKeys {
    /// Whether `key` was given.
    pub fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|k| k == key)
    }
}

/// The architecture keys, which `init`'s model fixes.
pub const ARCHITECTURE_KEYS: [&str; 7] = [
    "version",
    "cutoff",
    "n_max",
    "basis_size",
    "l_max",
    "neuron",
    "zbl",
];

fn default_version() -> u32 {
    4
}
fn default_cutoff() -> Cutoff {
    Cutoff::Uniform([8.0, 4.0])
}
fn default_n_max() -> [usize; 2] {
    [4, 4]
}
fn default_basis() -> [usize; 2] {
    [8, 8]
}
fn default_l_max() -> Vec<usize> {
    vec![4, 2, 0]
}
fn default_neuron() -> usize {
    30
}

impl Default for NepConfig {
    fn default() -> Self {
        NepConfig {
            species: None,
            version: default_version(),
            cutoff: default_cutoff(),
            n_max: default_n_max(),
            basis_size: default_basis(),
            l_max: default_l_max(),
            neuron: default_neuron(),
            zbl: None,
            typewise_cutoff_zbl: None,
            typewise_cutoff: None,
            init: None,
            init_rescale: false,
            explicit: GivenKeys::default(),
        }
    }
}

impl NepConfig {
    /// Checks every value; the message names the offending key.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let m = self;
        if !(3..=5).contains(&m.version) {
            return Err(format!(
                "model.version must be 3, 4 or 5, got {}",
                m.version
            ));
        }
        m.validate_cutoff()?;
        if m.n_max[0] > MAX_CHANNEL || m.n_max[1] > MAX_CHANNEL {
            return Err(format!(
                "model.n_max must be at most {MAX_CHANNEL}, got {:?}",
                m.n_max
            ));
        }
        if m.basis_size[0] > MAX_CHANNEL || m.basis_size[1] > MAX_CHANNEL {
            return Err(format!(
                "model.basis_size must be at most {MAX_CHANNEL}, got {:?}",
                m.basis_size
            ));
        }
        let angular = m.angular()?;
        // GPUMD's limit, and the size of NEP_CPU's fixed descriptor arrays.
        let dim_angular = (m.n_max[1] + 1) * angular.n_invariants();
        if dim_angular > MAX_DIM_ANGULAR {
            return Err(format!(
                "model: {dim_angular} angular descriptors (n_max angular + 1 = {} times {} invariants) exceed GPUMD's limit of {MAX_DIM_ANGULAR}",
                m.n_max[1] + 1,
                angular.n_invariants()
            ));
        }
        if m.neuron == 0 || m.neuron > MAX_NEURONS {
            return Err(format!(
                "model.neuron must be in 1..={MAX_NEURONS}, got {}",
                m.neuron
            ));
        }
        if m.init_rescale && m.init.is_none() {
            return Err("model.init_rescale applies with model.init only".into());
        }
        if let Some(z) = m.zbl {
            positive(z, "model.zbl")?;
            let angular = match &m.cutoff {
                Cutoff::Uniform(c) => c[1],
                Cutoff::PerElement(t) => t.values().map(|c| c[1]).fold(0.0, f64::max),
            };
            if z > angular {
                return Err(format!(
                    "model.zbl: outer cutoff {z} must not exceed the (largest) angular cutoff {angular}"
                ));
            }
        }
        m.validate_typewise()
    }

    /// Each element's cutoffs, as GPUMD checks them: positive, angular ≤
    /// radial, radial within forcefit's limit; a table names elements of
    /// the model only.
    fn validate_cutoff(&self) -> std::result::Result<(), String> {
        let pairs: Vec<(String, [f64; 2])> = match &self.cutoff {
            Cutoff::Uniform(c) => vec![(String::new(), *c)],
            Cutoff::PerElement(table) => {
                if table.is_empty() {
                    return Err("model.cutoff: the per-element table is empty".into());
                }
                table
                    .iter()
                    .map(|(s, c)| (format!(" of {s}"), *c))
                    .collect()
            }
        };
        for (of, [r, a]) in pairs {
            positive(r, &format!("model.cutoff (radial{of})"))?;
            positive(a, &format!("model.cutoff (angular{of})"))?;
            if a > r {
                return Err(format!(
                    "model.cutoff: the angular cutoff{of} {a} must not exceed the radial cutoff {r}"
                ));
            }
            if r > MAX_RADIAL_CUTOFF {
                return Err(format!(
                    "model.cutoff: radial cutoff{of} {r} Å is larger than allowed ({MAX_RADIAL_CUTOFF} Å)"
                ));
            }
        }
        if let Cutoff::PerElement(table) = &self.cutoff {
            for s in table.keys() {
                if elements::atomic_number(s).is_none() {
                    return Err(format!("model.cutoff: {s:?} is not an element symbol"));
                }
                if let Some(species) = &self.species
                    && !species.contains(s)
                {
                    return Err(format!(
                        "model.cutoff: {s} is not in model.type ({})",
                        species.join(" ")
                    ));
                }
            }
            if let Some(species) = &self.species {
                self.cutoff.for_species(species)?;
            }
        }
        Ok(())
    }

    /// GPUMD's limits on the typewise factors, and the combinations that no
    /// nep.txt form (and so no NEP_CPU) can hold.
    fn validate_typewise(&self) -> std::result::Result<(), String> {
        if let Some(f) = self.typewise_cutoff_zbl {
            if self.zbl.is_none() {
                return Err("model.typewise_cutoff_zbl needs ZBL (model.zbl)".into());
            }
            if !(f.is_finite() && f >= MIN_TYPEWISE_ZBL_FACTOR) {
                return Err(format!(
                    "model.typewise_cutoff_zbl must be at least {MIN_TYPEWISE_ZBL_FACTOR} (GPUMD's limit), got {f}"
                ));
            }
        }
        if let Some([fr, fa]) = self.typewise_cutoff {
            if !(fa.is_finite() && fa >= MIN_TYPEWISE_ANGULAR_FACTOR) {
                return Err(format!(
                    "model.typewise_cutoff: the angular factor must be at least {MIN_TYPEWISE_ANGULAR_FACTOR} (GPUMD's limit), got {fa}"
                ));
            }
            if !(fr.is_finite() && fr >= fa) {
                return Err(format!(
                    "model.typewise_cutoff: the radial factor {fr} must not be below the angular factor {fa}"
                ));
            }
            if matches!(self.cutoff, Cutoff::PerElement(_)) {
                return Err(
                    "model.typewise_cutoff cannot be combined with per-element model.cutoff: nep.txt's typewise cutoff line holds one cutoff pair"
                        .into(),
                );
            }
            if self.typewise_cutoff_zbl.is_some() {
                return Err(
                    "model.typewise_cutoff cannot be combined with model.typewise_cutoff_zbl: no NEP_CPU version reads a nep.txt with both"
                        .into(),
                );
            }
        }
        Ok(())
    }

    /// The angular terms that `l_max` asks for.
    pub fn angular(&self) -> std::result::Result<AngularTerms, String> {
        AngularTerms::from_gpumd(&self.l_max).map_err(|e| format!("model.l_max: {e}"))
    }

    /// For each architecture key (nep.in's keyword, which is also the TOML
    /// key), these settings' value and `hyper`'s, in nep.in's notation.
    pub fn architecture(&self, hyper: &NepHyper) -> [(&'static str, String, String); 7] {
        let m = self;
        let words = |v: &[usize]| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let zbl = match &hyper.zbl {
            Some(Zbl::Universal { outer, .. }) => format!("{outer}"),
            Some(Zbl::Flexible(_)) => "flexible".into(),
            None => "none".into(),
        };
        let hyper_cutoff = if hyper.has_element_cutoffs() {
            (0..hyper.n_types())
                .map(|t| {
                    let [r, a] = hyper.element_cutoffs(t);
                    format!("{r} {a}")
                })
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            format!("{} {}", hyper.rc_radial, hyper.rc_angular)
        };
        // l_max in GPUMD's words on both sides, so that `4 2 0` and `4 1`
        // (the same terms) agree.
        let l_max = m
            .angular()
            .map_or_else(|_| words(&m.l_max), |a| words(&a.gpumd_values()));
        [
            ("version", m.version.to_string(), hyper.version.to_string()),
            ("cutoff", m.cutoff.words(&hyper.species), hyper_cutoff),
            (
                "n_max",
                format!("{} {}", m.n_max[0], m.n_max[1]),
                format!("{} {}", hyper.n_max_radial, hyper.n_max_angular),
            ),
            (
                "basis_size",
                format!("{} {}", m.basis_size[0], m.basis_size[1]),
                format!("{} {}", hyper.basis_size_radial, hyper.basis_size_angular),
            ),
            ("l_max", l_max, words(&hyper.angular.gpumd_values())),
            ("neuron", m.neuron.to_string(), hyper.neurons.to_string()),
            ("zbl", m.zbl.map_or("none".into(), |z| format!("{z}")), zbl),
        ]
    }

    /// The architecture keys that `given` says were set and that disagree
    /// with `hyper`: (key, this value, hyper's value).
    pub fn disagreements(
        &self,
        hyper: &NepHyper,
        given: impl Fn(&str) -> bool,
    ) -> Vec<(&'static str, String, String)> {
        self.architecture(hyper)
            .into_iter()
            .filter(|(key, ours, theirs)| given(key) && ours != theirs)
            .collect()
    }

    /// The hyperparameters of a new model of these settings and elements;
    /// an element without cutoffs in a per-element table is an error.
    pub fn hyper(&self, species: Vec<String>) -> std::result::Result<NepHyper, String> {
        let cutoffs = self.cutoff.for_species(&species)?;
        let mut hyper = NepHyper {
            version: self.version,
            species,
            rc_radial: cutoffs[0][0],
            rc_angular: cutoffs[0][1],
            cutoffs: None,
            max_neighbors: Some((1000, 1000)),
            typewise: self
                .typewise_cutoff
                .map(|[radial, angular]| TypewiseCutoff {
                    radial,
                    angular,
                    // older GPUMD's "no typewise ZBL"
                    zbl: -1.0,
                }),
            n_max_radial: self.n_max[0],
            n_max_angular: self.n_max[1],
            basis_size_radial: self.basis_size[0],
            basis_size_angular: self.basis_size[1],
            angular: self.angular()?,
            neurons: self.neuron,
            zbl: self.zbl.map(|outer| Zbl::Universal {
                inner: 0.5 * outer,
                outer,
                typewise: self.typewise_cutoff_zbl,
            }),
        };
        hyper.set_element_cutoffs(cutoffs);
        Ok(hyper)
    }
}
