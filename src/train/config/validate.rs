//! The checks of a whole configuration: every value in its range and the
//! combinations the optimizers and losses do not support, each message
//! naming the key (`optimizer.lr`, …) so that the drop-ins can name their
//! own keyword instead.

use super::*;

impl TrainConfig {
    /// Checks every value; the message names the offending key.
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.model.validate()?;
        if !(0.0..1.0).contains(&self.data.validation_fraction) {
            return Err(format!(
                "data.validation_fraction must be in [0, 1), got {}",
                self.data.validation_fraction
            ));
        }
        let l = &self.loss;
        non_negative(l.lambda_e, "loss.lambda_e")?;
        non_negative(l.lambda_f, "loss.lambda_f")?;
        non_negative(l.lambda_v, "loss.lambda_v")?;
        non_negative(l.lambda_1, "loss.lambda_1")?;
        non_negative(l.lambda_2, "loss.lambda_2")?;
        if l.lambda_e + l.lambda_f + l.lambda_v == 0.0 {
            return Err(
                "loss: lambda_e, lambda_f and lambda_v are all zero: nothing to fit".into(),
            );
        }
        if let Some(f) = l.force_scale {
            positive(f, "loss.force_scale")?;
        }
        for (element, &w) in &l.type_weight {
            if crate::elements::atomic_number(element).is_none() {
                return Err(format!(
                    "loss.type_weight.{element}: {element:?} is not an element symbol"
                ));
            }
            non_negative(w, &format!("loss.type_weight.{element}"))?;
        }
        non_negative(l.force_delta, "loss.force_delta")?;
        non_negative(l.lambda_shear, "loss.lambda_shear")?;
        for (x, name) in [
            (l.lambda_e_end, "loss.lambda_e_end"),
            (l.lambda_f_end, "loss.lambda_f_end"),
            (l.lambda_v_end, "loss.lambda_v_end"),
        ] {
            if let Some(x) = x {
                non_negative(x, name)?;
            }
        }
        if l.follows_lr() && self.optimizer.kind == OptimizerKind::Snes {
            return Err("loss.lambda_*_end make the weights follow the learning rate, which snes does not have".into());
        }
        if !(l.directional_epsilon.is_finite()
            && l.directional_epsilon > 0.0
            && l.directional_epsilon < 1.0)
        {
            return Err(format!(
                "loss.directional_epsilon must be in (0, 1) Å, got {}",
                l.directional_epsilon
            ));
        }
        if !(l.force_fraction > 0.0 && l.force_fraction <= 1.0) {
            return Err(format!(
                "loss.force_fraction must be in (0, 1], got {}",
                l.force_fraction
            ));
        }
        if !(0.0..=1.0).contains(&l.force_structures) {
            return Err(format!(
                "loss.force_structures must be in [0, 1], got {}",
                l.force_structures
            ));
        }
        let o = &self.optimizer;
        positive(o.lr, "optimizer.lr")?;
        non_negative(o.lr_min, "optimizer.lr_min")?;
        if o.lr_min > o.lr {
            return Err(format!(
                "optimizer.lr_min {} exceeds optimizer.lr {}",
                o.lr_min, o.lr
            ));
        }
        if o.decay == Decay::Exponential && o.lr_min == 0.0 {
            return Err("optimizer.lr_min must be positive for exponential decay".into());
        }
        if o.decay_steps == Some(0) {
            return Err("optimizer.decay_steps must be at least 1".into());
        }
        if o.decay_steps.is_some() && o.decay != Decay::Exponential {
            return Err("optimizer.decay_steps applies to decay = \"exponential\" only".into());
        }
        if let Some(r) = &o.restarts {
            if o.decay != Decay::Cosine {
                return Err("optimizer.restarts applies to decay = \"cosine\" only".into());
            }
            r.validate()?;
        }
        if let Some(x) = o.warmup_from {
            non_negative(x, "optimizer.warmup_from")?;
        }
        non_negative(o.weight_decay, "optimizer.weight_decay")?;
        if o.batch_size == Some(0) {
            return Err("optimizer.batch_size must be at least 1".into());
        }
        if o.kind.is_kalman() {
            self.validate_kalman()?;
        }
        if o.population < 2 {
            return Err(format!(
                "optimizer.population must be at least 2, got {}",
                o.population
            ));
        }
        positive(o.sigma0, "optimizer.sigma0")?;
        let r = &self.run;
        if r.epochs == Some(0) && r.steps.is_none() {
            return Err("train.epochs must be at least 1".into());
        }
        if r.steps == Some(0) {
            return Err("train.steps must be at least 1".into());
        }
        if let Some(t) = r.time_limit {
            positive(t, "train.time_limit")?;
        }
        if r.committee == 0 || r.committee > MAX_COMMITTEE {
            return Err(format!(
                "train.committee must be between 1 and {MAX_COMMITTEE} (it is {})",
                r.committee
            ));
        }
        if r.checkpoint_every == 0 {
            return Err("train.checkpoint_every must be at least 1".into());
        }
        if r.validate_every == Some(0) {
            return Err("train.validate_every must be at least 1".into());
        }
        if r.threads == Some(0) {
            return Err("train.threads must be at least 1".into());
        }
        if r.lcurve_every == Some(0) {
            return Err("train.lcurve_every must be at least 1".into());
        }
        if r.lcurve_frames == 0 {
            return Err("train.lcurve_frames must be at least 1".into());
        }
        if r.lcurve_file.is_empty() || r.lcurve_file.contains(['/', '\\']) {
            return Err(format!(
                "train.lcurve_file must be a plain file name (it is written in train.output_dir), got {:?}",
                r.lcurve_file
            ));
        }
        Ok(())
    }

    /// The FEKF/RLEKF options, and how they combine with `[loss]`.
    fn validate_kalman(&self) -> std::result::Result<(), String> {
        let (o, l) = (&self.optimizer_as_run(), &self.loss);
        if o.kind == OptimizerKind::Rlekf && o.batch_size.is_some_and(|b| b != 1) {
            return Err(format!(
                "optimizer.batch_size is {} but RLEKF uses one structure per step; use type = \"fekf\" for batches",
                o.batch_size.unwrap_or(1)
            ));
        }
        if o.block_size == Some(0) {
            return Err("optimizer.block_size must be at least 1".into());
        }
        positive(o.p0, "optimizer.p0")?;
        if let Some(m) = o.p_max {
            positive(m, "optimizer.p_max")?;
        }
        let k = o.kalman_settings(usize::MAX);
        for (x, name) in [(k.lambda0, "optimizer.lambda0"), (k.nu, "optimizer.nu")] {
            if !(x > 0.0 && x <= 1.0) {
                return Err(format!("{name} must be in (0, 1], got {x}"));
            }
        }
        if o.atoms_per_update == 0 {
            return Err("optimizer.atoms_per_update must be at least 1".into());
        }
        for (x, name) in [
            (o.pref_e, "pref_e"),
            (o.pref_f, "pref_f"),
            (o.pref_v, "pref_v"),
        ] {
            non_negative(x, &format!("optimizer.{name}"))?;
        }
        if let Some(r) = o.measurement_noise {
            positive(r, "optimizer.measurement_noise")?;
        }
        if let Some(m) = o.memory_budget {
            positive(m, "optimizer.memory_budget")?;
        }
        let s = self.fekf_settings();
        if s.pref_e == 0.0 && (s.pref_f == 0.0 || s.force_updates == 0) && s.pref_v == 0.0 {
            return Err("FEKF would measure nothing: every update is switched off by optimizer.pref_e/pref_f/pref_v, optimizer.force_updates or loss.lambda_e/lambda_f/lambda_v".into());
        }
        if l.follows_lr() {
            return Err("loss.lambda_e_end/lambda_f_end/lambda_v_end make the weights follow the learning rate, which fekf/rlekf do not have; use optimizer.pref_e/pref_f/pref_v".into());
        }
        if l.lambda_1 > 0.0 || l.lambda_2 > 0.0 {
            return Err("loss.lambda_1/lambda_2 (regularisation) apply to adam and snes; the Kalman filter's prior (optimizer.p0) plays that role for fekf/rlekf".into());
        }
        if l.force_fraction < 1.0 {
            return Err("loss.force_fraction applies to adam and snes; fekf/rlekf sample optimizer.atoms_per_update atoms per force update".into());
        }
        Ok(())
    }
}

/// More members than this is a typo, not a committee (DP-GEN uses 4).
const MAX_COMMITTEE: usize = 64;
