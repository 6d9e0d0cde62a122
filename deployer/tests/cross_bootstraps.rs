//! Issue #12 item 2 on moto, through the counting proxy: an app whose functions run on x86_64 and
//! arm64 gets one `--bootstrap` per architecture; a binary for the wrong machine, a missing
//! architecture or a script is refused before any AWS call; cargo lambda's zip is the same code as
//! the binary in it.

mod support;

use std::io::Write;

use support::deployer::Run;
use support::fixtures::create_queue;
use support::project::EM_AARCH64;
use support::proxied::Proxied;

/// `tick` runs on x86_64 (the default), `on_order` on arm64.
const MIXED: &str = "app orders\nschedule tick rate(1 hour)\n\
                     queue on_order \"orders\" { architecture = arm64 }\n";

/// The app with its queue, `bootstrap` for x86_64 and `bootstrap-arm64`.
async fn setup() -> Proxied {
    let s = Proxied::start().await;
    create_queue(&s.aws, "orders", Some(360)).await;
    s.write_app(MIXED);
    s.project
        .write_fake_bootstrap_for("bootstrap-arm64", "v1", EM_AARCH64);
    s
}

/// Panics unless the run failed having made no AWS call at all, and said each of `expected`.
fn assert_refused_before_aws(s: &Proxied, run: &Run, expected: &[&str]) {
    assert_ne!(run.code, Some(0), "{}", run.describe());
    assert_eq!(
        (run.calls().reads(), run.calls().writes()),
        (0, 0),
        "expected no AWS call:\n{}",
        run.describe()
    );
    for e in expected {
        assert!(
            run.stderr.contains(e),
            "{e:?} not said:\n{}",
            run.describe()
        );
    }
    assert!(
        !s.project.state_file("dev").exists(),
        "nothing recorded either"
    );
}

#[tokio::test]
async fn a_wrong_architecture_bootstrap_is_refused_before_any_aws_call() {
    let s = setup().await;
    // One x86_64 binary for an app with an arm64 function.
    let run = s.run(&["deploy", "--yes", "--bootstrap", "bootstrap"]);
    assert_refused_before_aws(
        &s,
        &run,
        &[
            "error: `bootstrap` is an x86_64 (EM_X86_64) binary, but function orders-dev-on_order \
           runs on arm64: build it for aarch64-unknown-linux-musl, or pass --bootstrap arm64=FILE",
        ],
    );
    // The arm64 build given for x86_64 (the files swapped).
    let run = s.run(&[
        "plan",
        "--bootstrap",
        "x86_64=bootstrap-arm64,arm64=bootstrap",
    ]);
    assert_refused_before_aws(
        &s,
        &run,
        &[
            "error: `bootstrap-arm64` is an aarch64 (EM_AARCH64) binary, but function orders-dev-tick \
             runs on x86_64: build it for x86_64-unknown-linux-musl, or pass --bootstrap x86_64=FILE\n\
             error: `bootstrap` is an x86_64 (EM_X86_64) binary, but function orders-dev-on_order runs on arm64",
        ],
    );
    // An architecture the app uses, not given.
    let run = s.run(&["deploy", "--yes", "--bootstrap", "arm64=bootstrap-arm64"]);
    assert_refused_before_aws(
        &s,
        &run,
        &["no --bootstrap for x86_64: function orders-dev-tick runs on it"],
    );
    // A script, a Mach-O build.
    let script = s.project.write_executable("run.sh", "#!/bin/sh\nexit 0\n");
    let run = s.run(&[
        "deploy",
        "--yes",
        "--bootstrap",
        &format!("x86_64={},arm64=bootstrap-arm64", script.display()),
    ]);
    assert_refused_before_aws(
        &s,
        &run,
        &["is a script (`#!/bin/sh`), not a compiled binary"],
    );
    std::fs::write(s.project.join("mac"), b"\xcf\xfa\xed\xfe\x07\x00\x00\x01").unwrap();
    let run = s.run(&[
        "plan",
        "--bootstrap",
        "x86_64=mac",
        "--bootstrap",
        "arm64=bootstrap-arm64",
    ]);
    assert_refused_before_aws(&s, &run, &["`mac` is a Mach-O binary (a macOS build)"]);
    // Values that do not go together are a usage error.
    let run = s.run(&[
        "deploy",
        "--yes",
        "--bootstrap",
        "bootstrap",
        "--bootstrap",
        "arm64=x",
    ]);
    assert_refused_before_aws(&s, &run, &["give either one FILE, or ARCH=FILE"]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
}

#[tokio::test]
async fn one_bootstrap_per_architecture_deploys_and_a_cargo_lambda_zip_is_the_same_code() {
    let s = setup().await;
    let run = s.run(&[
        "deploy",
        "--yes",
        "--bootstrap",
        "x86_64=bootstrap,arm64=bootstrap-arm64",
    ]);
    run.assert_success();
    let aws = s.moto.clients().await;
    for (function, arch) in [
        ("orders-dev-tick", "x86_64"),
        ("orders-dev-on_order", "arm64"),
    ] {
        let conf = aws
            .lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .expect("the function");
        let archs: Vec<&str> = conf.architectures().iter().map(|a| a.as_str()).collect();
        assert_eq!(archs, [arch], "{function}");
    }

    // `cargo lambda build --output-format zip` output: a zip with a `bootstrap` entry (another
    // timestamp and compression than ours). Re-zipped deterministically, it is the same code.
    let binary = std::fs::read(s.project.join("bootstrap-arm64")).unwrap();
    let zip_path = s.project.join("bootstrap.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    w.start_file(
        "bootstrap",
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .unix_permissions(0o755),
    )
    .unwrap();
    w.write_all(&binary).unwrap();
    w.finish().unwrap();
    let run = s.run(&[
        "deploy",
        "--yes",
        "--bootstrap",
        "x86_64=bootstrap",
        "--bootstrap",
        &format!("arm64={}", zip_path.display()),
    ]);
    run.assert_success().assert_no_writes();
}
