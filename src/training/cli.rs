//! The `train` and `eval` commands: files in, a model file or a report out. Exit 0 on success,
//! 2 on a usage, data or I/O error (the message names the file and line).

use std::sync::Arc;

use crate::cli::{EvalArgs, TrainArgs};
use crate::pipeline::classify::model::ContentModel;

use super::{TrainOptions, data, eval, load_examples, train as fit};

pub const EX_ERROR: u8 = 2;

pub fn train(args: &TrainArgs) -> u8 {
    match run_train(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            EX_ERROR
        }
    }
}

fn run_train(args: &TrainArgs) -> Result<(), String> {
    let started = std::time::Instant::now();
    let (mut examples, mut provenance) = load_examples(&args.data).map_err(|e| e.to_string())?;
    let mut category_only = serde_json::Map::new();
    for path in &args.category_data {
        let (extra, counts) =
            load_examples(std::slice::from_ref(path)).map_err(|e| e.to_string())?;
        for mut e in extra {
            if e.targets.category.is_none() || e.targets.other.is_some() {
                return Err(format!(
                    "{}: --category-data takes rows labeled with a port category (VERIFICATION \
                     ... ILLEGAL); this file has spam/ham or fake-base-station labels: {counts}",
                    path.display()
                ));
            }
            e.targets.spam = None;
            examples.push(e);
        }
        if let serde_json::Value::Object(per_file) = counts {
            category_only.extend(per_file);
        }
    }
    if !category_only.is_empty()
        && let serde_json::Value::Object(map) = &mut provenance
    {
        map.insert("category_only".into(), category_only.into());
    }
    if args.feedback {
        let loaded = super::feedback::load(args.data_dir.as_deref(), args.target.as_deref())?;
        if let serde_json::Value::Object(map) = &mut provenance {
            map.insert("feedback".into(), loaded.examples.len().into());
        }
        eprintln!(
            "{} operator corrections included ({} without stored text skipped)",
            loaded.examples.len(),
            loaded.without_text
        );
        examples.extend(loaded.examples);
    }
    let opts = TrainOptions {
        seed: args.seed,
        epochs: args.epochs,
        bits: args.bits,
        head_bits: args.head_bits,
        max_n: args.max_n,
        learning_rate: args.learning_rate,
        l2: args.l2,
        spam_c: args.spam_c,
        idf_bits: args.idf_bits,
        fbs_c: args.fbs_c,
        svm_tolerance: args.svm_tolerance,
        binary_weight: args.binary_weight,
        spam_threshold: args.spam_threshold,
        spam_skip: args.spam_skip.clone(),
        spam_power: args.spam_power,
        cjk_spacing: args.cjk_spacing,
        length: args.length,
        unsigned_bits: args.unsigned_bits,
        // The category head's settings (one-vs-rest SVMs, C, fbs row weight) have no flags.
        ..TrainOptions::default()
    };

    let model = fit(&examples, &opts, provenance).map_err(|e| e.to_string())?;
    let bytes = model.to_bytes();
    std::fs::write(&args.out, &bytes)
        .map_err(|e| format!("{}: cannot write: {e}", args.out.display()))?;
    eprintln!(
        "model {} written to {} ({} rows, {} bytes on disk, {} MB of weights in memory, {:.1} s)",
        model.version(),
        args.out.display(),
        examples.len(),
        bytes.len(),
        model.weight_bytes() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn eval(args: &EvalArgs) -> u8 {
    let run = || -> Result<String, String> {
        let model = Arc::new(ContentModel::load(&args.model).map_err(|e| e.to_string())?);
        let rows = data::read_tsv(&args.data).map_err(|e| e.to_string())?;
        let report = eval::evaluate(
            &model,
            &rows,
            &args.data.display().to_string(),
            args.spam_reject_score,
            args.spam_threshold,
        )?;
        if let Some(path) = &args.errors {
            std::fs::write(path, report.misses_tsv())
                .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        }
        Ok(if args.json {
            report.to_json().to_string()
        } else {
            report.render()
        })
    };
    match run() {
        Ok(out) => {
            println!("{out}");
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            EX_ERROR
        }
    }
}
