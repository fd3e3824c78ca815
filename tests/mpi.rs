//! Data-parallel training under MPI (`cargo test --release --features mpi
//! --test mpi`, with OpenMPI's `mpirun`): a run on 2 or 3 ranks ends with
//! the same model file, byte for byte, as the run on one process, for NEP
//! with Adam, FEKF and SNES, DeePMD and Behler–Parrinello, and with the
//! Kalman covariance blocks spread over the ranks; a run killed under MPI
//! resumes, on another rank count, to the same model, and so does a
//! sharded Kalman filter's checkpoint; a bad structure stops every rank
//! with one message instead of a hang.

#[cfg(not(feature = "mpi"))]
#[test]
fn mpi_tests_need_the_mpi_feature() {
    eprintln!(
        "skipped: the MPI tests run with `cargo test --release --features mpi --test mpi` \
         (OpenMPI: apt install openmpi-bin libopenmpi-dev libclang-dev)"
    );
}

#[cfg(feature = "mpi")]
mod common;

#[cfg(feature = "mpi")]
mod with_mpi {
    use super::common::{self, SI_BP, SI_DEEPMD, SI_NEP, TempDir, model_file, si_config_for};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Output, Stdio};
    use std::time::{Duration, Instant};

    const ADAM: &str = "batch_size = 4\nlr = 0.003";
    const FEKF: &str = "type = \"fekf\"\nbatch_size = 4";
    /// Small covariance blocks, so that the ranks each hold some.
    const FEKF_BLOCKS: &str = "type = \"fekf\"\nbatch_size = 4\nblock_size = 40";

    /// `mpirun -np n forcefit args`, or None (with a message) when mpirun
    /// is not installed.
    fn mpirun(n: usize) -> Option<Command> {
        let found = Command::new("mpirun")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            eprintln!("skipped: mpirun not found (apt install openmpi-bin)");
            return None;
        }
        let mut c = Command::new("mpirun");
        c.args([
            "--allow-run-as-root",
            "--oversubscribe",
            "-np",
            &n.to_string(),
        ])
        .arg(env!("CARGO_BIN_EXE_forcefit"));
        Some(c)
    }

    /// Waits for `child`, killing it (and failing) after `limit`: a hang is
    /// a failure, never a stuck test run.
    fn wait_with_timeout(mut child: Child, limit: Duration) -> Output {
        let start = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                return child.wait_with_output().unwrap();
            }
            if start.elapsed() > limit {
                child.kill().ok();
                panic!("mpirun did not finish within {limit:?}: a rank hangs");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `forcefit args` on `ranks` ranks (0: one process, no mpirun), under
    /// the timeout; None when mpirun is missing.
    fn forcefit_on(ranks: usize, args: &[&str]) -> Option<Output> {
        let mut command = if ranks == 0 {
            Command::new(env!("CARGO_BIN_EXE_forcefit"))
        } else {
            mpirun(ranks)?
        };
        let child = command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Some(wait_with_timeout(child, Duration::from_secs(300)))
    }

    /// Trains `cfg` on `ranks` ranks of one thread each (0: no mpirun, one
    /// process of two threads); None when mpirun is missing.
    fn train(ranks: usize, args: &[&str], cfg: &Path) -> Option<Output> {
        let threads = if ranks == 0 { "2" } else { "1" };
        let mut all = vec!["train", "-q", "-j", threads];
        all.extend_from_slice(args);
        all.push(cfg.to_str().unwrap());
        forcefit_on(ranks, &all)
    }

    fn succeeded(o: &Output) {
        assert!(
            o.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// The trained parameters in a run's checkpoint.
    fn params(dir: &Path) -> Vec<f64> {
        let text = std::fs::read_to_string(dir.join("out/checkpoint.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        serde_json::from_value(v["params"].clone()).unwrap()
    }

    /// A committee of 2 (bootstrap), then its warm continuation, on 2 ranks:
    /// every member's model file as on one process.
    #[test]
    fn committee_and_continue_from_on_two_ranks() {
        let run = |ranks: usize, tag: &str| -> Option<TempDir> {
            let dir = TempDir::new(&format!("mpi-committee-{tag}-{ranks}"));
            let extra = "committee = 2\ncommittee_data = \"bootstrap\"";
            let cfg = si_config_for(dir.path(), 3, SI_NEP, ADAM, extra);
            succeeded(&train(ranks, &[], &cfg)?);
            let warm = dir.path().join("warm");
            std::fs::create_dir_all(&warm).unwrap();
            let cfg = si_config_for(&warm, 2, SI_NEP, ADAM, extra);
            let from = dir.path().join("out");
            succeeded(&train(
                ranks,
                &["--continue-from", from.to_str().unwrap()],
                &cfg,
            )?);
            Some(dir)
        };
        let one = run(0, "one").unwrap();
        let Some(two) = run(2, "two") else { return };
        for k in 0..2 {
            for sub in ["", "warm/"] {
                let file = |d: &TempDir| {
                    std::fs::read_to_string(d.path().join(format!("{sub}out/member-{k}/nep.txt")))
                        .unwrap()
                };
                assert_eq!(file(&two), file(&one), "{sub}member {k} on 2 ranks");
            }
        }
    }

    /// The run's `summary.json`.
    fn summary(dir: &Path) -> serde_json::Value {
        let text = std::fs::read_to_string(dir.join("out/summary.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// One process, then 2 and 3 ranks, of the same configuration: the same
    /// model file and the same parameters, bit for bit; the runs'
    /// summaries (one process, 2 and 3 ranks; only the first without
    /// mpirun).
    fn same_model_for_any_rank_count(
        tag: &str,
        model: &str,
        file: &str,
        optimizer: &str,
    ) -> Vec<serde_json::Value> {
        let epochs = 5;
        let one = TempDir::new(&format!("mpi-{tag}-1"));
        let o = train(
            0,
            &[],
            &si_config_for(one.path(), epochs, model, optimizer, ""),
        );
        succeeded(&o.unwrap());
        let mut summaries = vec![summary(one.path())];
        for ranks in [2, 3] {
            let dir = TempDir::new(&format!("mpi-{tag}-{ranks}"));
            let cfg = si_config_for(dir.path(), epochs, model, optimizer, "");
            let Some(o) = train(ranks, &[], &cfg) else {
                return summaries;
            };
            succeeded(&o);
            assert_eq!(
                model_file(dir.path(), file),
                model_file(one.path(), file),
                "{tag}: {file} of {ranks} ranks"
            );
            assert_eq!(
                params(dir.path()),
                params(one.path()),
                "{tag}: {ranks} ranks"
            );
            let stdout = String::from_utf8_lossy(&o.stdout);
            assert!(
                stdout.contains(&format!("MPI: {ranks} ranks")),
                "rank 0 reports the traffic: {stdout}"
            );
            assert_eq!(
                stdout.matches("training set:").count(),
                1,
                "one report, from rank 0"
            );
            summaries.push(summary(dir.path()));
        }
        summaries
    }

    #[test]
    fn nep_adam_on_ranks_equals_one_process() {
        same_model_for_any_rank_count("nep-adam", SI_NEP, "nep.txt", ADAM);
    }

    #[test]
    fn nep_fekf_on_ranks_equals_one_process() {
        same_model_for_any_rank_count("nep-fekf", SI_NEP, "nep.txt", FEKF);
    }

    #[test]
    fn nep_snes_on_ranks_equals_one_process() {
        let snes = "type = \"snes\"\nbatch_size = 8\npopulation = 10";
        same_model_for_any_rank_count("nep-snes", SI_NEP, "nep.txt", snes);
    }

    #[test]
    fn deepmd_fekf_on_ranks_equals_one_process() {
        same_model_for_any_rank_count("dp-fekf", SI_DEEPMD, "model.yaml", FEKF);
    }

    /// Each rank holds a share of the covariance blocks: the model of one
    /// process, and less covariance memory per rank.
    fn sharded_fekf_for_any_rank_count(tag: &str, model: &str, file: &str, precision: &str) {
        let optimizer = format!("{FEKF_BLOCKS}\ncovariance_precision = \"{precision}\"");
        let summaries = same_model_for_any_rank_count(tag, model, file, &optimizer);
        // Covariance bytes of rank 0 and bytes it sends per update.
        let bytes: Vec<(u64, u64)> = summaries
            .iter()
            .map(|s| {
                let k = &s["kalman"];
                assert_eq!(k["precision"], precision, "{s}");
                assert!(k["blocks"].as_array().unwrap().len() >= 3, "{s}");
                let field = |f: &str| k[f].as_u64().unwrap();
                (
                    field("covariance_bytes"),
                    field("exchange_bytes_per_update"),
                )
            })
            .collect();
        eprintln!("{tag}: (covariance bytes, bytes sent per update) on 1, 2, 3 ranks: {bytes:?}");
        let [one, two, three] = bytes[..] else {
            return;
        };
        assert_eq!(one.1, 0, "one process exchanges nothing");
        assert!(two.0 < one.0 && three.0 < two.0, "{bytes:?}");
        assert!(two.1 > 0 && three.1 < two.1, "{bytes:?}");
    }

    #[test]
    fn nep_sharded_fekf_on_ranks_equals_one_process() {
        sharded_fekf_for_any_rank_count("nep-shard", SI_NEP, "nep.txt", "float64");
    }

    #[test]
    fn deepmd_sharded_fekf_on_ranks_equals_one_process() {
        sharded_fekf_for_any_rank_count("dp-shard", SI_DEEPMD, "model.yaml", "float32");
    }

    #[test]
    fn bp_sharded_fekf_on_ranks_equals_one_process() {
        let file = "potential.Si.nn.ascii";
        sharded_fekf_for_any_rank_count("bp-shard", SI_BP, file, "float64");
    }

    /// A sharded filter's checkpoint written on 2 ranks holds the file of
    /// one process, and resumes on 1 and on 3 ranks to the model of the
    /// uninterrupted run.
    #[test]
    fn a_sharded_checkpoint_resumes_on_any_rank_count() {
        let optimizer = format!("{FEKF_BLOCKS}\ncovariance_precision = \"float32\"");
        let extra = "validate_every = 1";
        let config =
            |dir: &TempDir, epochs| si_config_for(dir.path(), epochs, SI_NEP, &optimizer, extra);
        let reference = TempDir::new("mpi-shard-resume-ref");
        succeeded(&train(0, &[], &config(&reference, 6)).unwrap());
        let half = TempDir::new("mpi-shard-resume-half");
        succeeded(&train(0, &[], &config(&half, 3)).unwrap());
        let side = |dir: &TempDir| {
            let c: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(dir.path().join("out/checkpoint.json")).unwrap(),
            )
            .unwrap();
            let file = c["covariance"]["file"].as_str().unwrap().to_string();
            std::fs::read(dir.path().join("out").join(file)).unwrap()
        };
        for ranks in [1, 3] {
            let dir = TempDir::new(&format!("mpi-shard-resume-{ranks}"));
            let Some(o) = train(2, &[], &config(&dir, 3)) else {
                return;
            };
            succeeded(&o);
            assert!(side(&dir) == side(&half), "the side file of one process");
            let resumed = train(
                if ranks == 1 { 0 } else { ranks },
                &["--resume"],
                &config(&dir, 6),
            );
            succeeded(&resumed.unwrap());
            assert_eq!(
                model_file(dir.path(), "nep.txt"),
                model_file(reference.path(), "nep.txt"),
                "written on 2 ranks, resumed on {ranks}"
            );
            assert_eq!(params(dir.path()), params(reference.path()), "{ranks}");
        }
    }

    #[test]
    fn bp_adam_on_ranks_equals_one_process() {
        same_model_for_any_rank_count("bp-adam", SI_BP, "potential.Si.nn.ascii", ADAM);
    }

    /// `forcefit nep DIR` on 2 ranks: the nep.txt and the GPUMD-layout
    /// files of the whole training and test sets (gathered on rank 0) of
    /// one process.
    #[test]
    fn nep_command_on_ranks_writes_the_files_of_one_process() {
        let nep_in = "type 1 Si\ncutoff 4.5 3.8\nn_max 3 3\nbasis_size 5 5\nneuron 8\n\
                      batch 8\ngeneration 40\nseed 3\n";
        let run = |ranks: usize| -> Option<TempDir> {
            let dir = TempDir::new(&format!("mpi-nep-command-{ranks}"));
            for name in ["train.xyz", "test.xyz"] {
                std::fs::copy(common::example(name), dir.path().join(name)).unwrap();
            }
            dir.file("nep.in", nep_in);
            let path = dir.path().to_str().unwrap();
            succeeded(&forcefit_on(ranks, &["nep", "-q", "-j", "1", path])?);
            Some(dir)
        };
        let one = run(0).unwrap();
        let Some(two) = run(2) else {
            return;
        };
        for name in [
            "nep.txt",
            "energy_train.out",
            "force_train.out",
            "virial_train.out",
            "energy_test.out",
            "force_test.out",
            "stress_test.out",
        ] {
            let read = |d: &TempDir| std::fs::read_to_string(d.path().join(name)).unwrap();
            assert_eq!(read(&two), read(&one), "{name}");
        }
    }

    /// A run planned by the clock (`time_limit` alone) stops every rank at
    /// the same step: the ranks agree on the time each step.
    #[test]
    fn a_time_budget_ends_every_rank_together() {
        let dir = TempDir::new("mpi-time");
        let cfg = si_config_for(dir.path(), 1, SI_NEP, ADAM, "time_limit = 3");
        let text = std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("epochs = 1\n", "");
        std::fs::write(&cfg, text).unwrap();
        let Some(o) = train(2, &[], &cfg) else {
            return;
        };
        succeeded(&o);
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap(),
        )
        .unwrap();
        assert!(summary["epochs"].as_u64().unwrap() > 1, "{summary}");
        assert!(dir.path().join("out/nep.txt").is_file());
    }

    /// Killed under 2 ranks after a checkpoint, resumed on one process:
    /// the model of the uninterrupted run.
    #[test]
    fn killed_under_mpi_resumes_on_another_rank_count() {
        let epochs = 30;
        let reference = TempDir::new("mpi-resume-ref");
        let o = train(
            0,
            &[],
            &si_config_for(reference.path(), epochs, SI_NEP, ADAM, ""),
        );
        succeeded(&o.unwrap());
        let killed = TempDir::new("mpi-resume-kill");
        let cfg = si_config_for(killed.path(), epochs, SI_NEP, ADAM, "");
        let Some(mut command) = mpirun(2) else {
            return;
        };
        let mut child = command
            .args(["train", "-q", "-j", "1"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let checkpoint = killed.path().join("out/checkpoint.json");
        let epoch = || -> u64 {
            std::fs::read_to_string(&checkpoint)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["epoch"].as_u64())
                .unwrap_or(0)
        };
        let start = Instant::now();
        while epoch() < 3 {
            assert!(start.elapsed().as_secs() < 120, "no checkpoint appeared");
            std::thread::sleep(Duration::from_millis(5));
        }
        // SIGKILL to mpirun: OpenMPI takes its ranks down with it.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let at = epoch();
        assert!(
            !status.success() && at < epochs as u64,
            "killed at epoch {at}"
        );
        assert!(!killed.path().join("out/nep.txt").exists());
        succeeded(&train(0, &["--resume"], &cfg).unwrap());
        assert_eq!(
            model_file(killed.path(), "nep.txt"),
            model_file(reference.path(), "nep.txt"),
            "resumed from epoch {at} on one process"
        );
    }

    /// The silicon example with atoms 0 and 1 of structure 1 (rank 1's
    /// first structure) 0.05 Å apart.
    fn bad_training_set(dir: &Path) -> PathBuf {
        let text = std::fs::read_to_string(common::example("train.xyz")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let first: usize = lines[0].trim().parse().unwrap();
        let start = first + 2;
        let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let atom0: Vec<&str> = lines[start + 2].split_whitespace().collect();
        let mut atom1: Vec<String> = lines[start + 3]
            .split_whitespace()
            .map(String::from)
            .collect();
        let x: f64 = atom0[1].parse().unwrap();
        atom1[1] = format!("{}", x + 0.05);
        atom1[2] = atom0[2].to_string();
        atom1[3] = atom0[3].to_string();
        out[start + 3] = atom1.join(" ");
        let path = dir.join("bad.xyz");
        std::fs::write(&path, out.join("\n") + "\n").unwrap();
        path
    }

    #[test]
    fn a_bad_structure_on_one_rank_stops_every_rank_with_one_message() {
        let dir = TempDir::new("mpi-bad");
        let bad = bad_training_set(dir.path());
        let cfg = si_config_for(dir.path(), 3, SI_NEP, ADAM, "");
        let text = std::fs::read_to_string(&cfg).unwrap();
        let train_line = text.lines().find(|l| l.starts_with("train = ")).unwrap();
        let text = text.replace(train_line, &format!("train = \"{}\"", bad.display()));
        std::fs::write(&cfg, text).unwrap();
        let Some(o) = train(2, &[], &cfg) else {
            return;
        };
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert_eq!(
            stderr.matches("error:").count(),
            1,
            "printed once: {stderr}"
        );
        assert!(
            stderr.contains("bad.xyz") && stderr.contains("atoms 0 and 1"),
            "names the file and the atoms: {stderr}"
        );
    }
}
