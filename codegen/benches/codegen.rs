//! Parse + validate + emit of a generated 1,000-binding file (target: under 50 ms).

use std::fmt::Write;

use chalice_codegen::{emit_plan, emit_rust, load};
use criterion::{Criterion, criterion_group, criterion_main};

/// A file with `n` bindings cycling through every kind and most options.
fn big_file(n: usize) -> String {
    let mut s = String::from(
        "app bench\ndefaults { memory = 256, timeout = 30s, env { LOG_LEVEL = \"info\" } }\nstage prod { memory = 512 }\n",
    );
    for i in 0..n {
        let line = match i % 7 {
            0 => format!("schedule h{i} rate({} minutes)\n", i % 50 + 2),
            1 => format!(
                "schedule h{i} cron(0 {} * * ? *) {{ description = \"job {i}\" }}\n",
                i % 24
            ),
            2 => format!(
                "rule h{i} {{ pattern = {{ \"source\": [\"app.{i}\"], \"detail\": {{ \"n\": [{{ \"numeric\": [\">\", {i}] }}] }} }} }}\n"
            ),
            3 => format!(
                "bucket h{i} \"bucket-{i}\" {{ events = [\"s3:ObjectCreated:*\"], prefix = \"in/\" }}\n"
            ),
            4 => format!("topic h{i} \"topic-{i}\"\n"),
            5 => format!("queue h{i} \"queue-{i}\" {{ batch_size = 10, batching_window = 5s }}\n"),
            _ => format!(
                "stream h{i} \"stream-{i}\" {{ starting_position = trim_horizon, memory = 1024 }}\n"
            ),
        };
        s.push_str(&line);
    }
    let _ = writeln!(s, "# {n} bindings");
    s
}

fn bench(c: &mut Criterion) {
    let src = big_file(1000);
    // Fail loudly rather than benchmark the error path.
    if let Err(diags) = load("bench.chalice", &src) {
        panic!("the bench file must be valid:\n{diags}");
    }
    c.bench_function("parse+validate+emit 1000 bindings", |b| {
        b.iter(|| {
            let model = load("bench.chalice", &src).expect("valid");
            let code = emit_rust::emit(&model);
            let plan = emit_plan::plan(&model, "prod").expect("stage");
            (code.len(), plan.functions.len())
        })
    });
    c.bench_function("parse+validate 1000 bindings", |b| {
        b.iter(|| load("bench.chalice", &src).expect("valid").handlers.len())
    });
    let model = load("bench.chalice", &src).expect("valid");
    c.bench_function("emit_rust 1000 bindings", |b| {
        b.iter(|| emit_rust::emit(&model).len())
    });
    c.bench_function("emit_plan 1000 bindings", |b| {
        b.iter(|| {
            emit_plan::plan(&model, "prod")
                .expect("stage")
                .functions
                .len()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
