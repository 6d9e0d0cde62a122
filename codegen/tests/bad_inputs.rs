//! Invalid `events.chalice` files: each is refused with the right error kind, at the right place, with help.

use chalice_codegen::{Diagnostics, ErrorKind};

use ErrorKind::*;

fn load_err(src: &str) -> Diagnostics {
    match chalice_codegen::load("events.chalice", src) {
        Ok(model) => panic!("accepted:\n{src}\n{model:#?}"),
        Err(d) => d,
    }
}

/// `(what, source, expected kind, 1-based line and column of the primary span)`.
fn cases() -> Vec<(&'static str, String, ErrorKind, (usize, usize))> {
    let s = |x: &str| x.to_string();
    let long_handler = "h".repeat(54);
    let stage_handler = "h".repeat(50);
    let many_tags: Vec<String> = (0..49).map(|i| format!("t{i} = \"v\"")).collect();
    let patterns: Vec<String> = (0..400).map(|i| format!("\"value-{i}\"")).collect();
    vec![
        // Structure
        ("no app", s("topic t \"x\"\n"), MissingApp, (1, 1)),
        ("empty file", s(""), MissingApp, (1, 1)),
        (
            "second app",
            s("app a\napp b\n"),
            DuplicateDeclaration,
            (2, 5),
        ),
        (
            "second defaults",
            s("app a\ndefaults { memory = 256 }\ndefaults { timeout = 5s }\n"),
            DuplicateDeclaration,
            (3, 1),
        ),
        (
            "duplicate stage",
            s("app a\nstage prod\nstage prod { memory = 512 }\n"),
            DuplicateDeclaration,
            (3, 7),
        ),
        (
            "duplicate handler",
            s("app a\ntopic t \"x\"\nqueue t \"y\"\n"),
            DuplicateHandler,
            (3, 7),
        ),
        (
            "duplicate key",
            s("app a\nqueue q \"x\" {\n  batch_size = 5\n  batch_size = 6\n}\n"),
            DuplicateKey,
            (4, 3),
        ),
        (
            "duplicate key in defaults",
            s("app a\ndefaults { memory = 256, memory = 512 }\n"),
            DuplicateKey,
            (2, 26),
        ),
        (
            "duplicate env key",
            s("app a\ntopic t \"x\" { env { A1 = \"1\", A1 = \"2\" } }\n"),
            DuplicateKey,
            (2, 31),
        ),
        (
            "duplicate pattern key",
            s("app a\nrule r { pattern = { \"source\": [\"a\"], \"source\": [\"b\"] } }\n"),
            DuplicateKey,
            (2, 39),
        ),
        // Names
        (
            "app name starting with _",
            s("app _orders\n"),
            InvalidName,
            (1, 5),
        ),
        (
            "stage name starting with -",
            s("app a\nstage -prod\n"),
            InvalidName,
            (2, 7),
        ),
        (
            "camelCase handler",
            s("app a\ntopic onNotice \"x\"\n"),
            InvalidHandlerName,
            (2, 7),
        ),
        (
            "kebab-case handler",
            s("app a\ntopic on-notice \"x\"\n"),
            InvalidHandlerName,
            (2, 7),
        ),
        (
            "keyword handler",
            s("app a\ntopic type \"x\"\n"),
            InvalidHandlerName,
            (2, 7),
        ),
        (
            "2024 keyword handler",
            s("app a\ntopic gen \"x\"\n"),
            InvalidHandlerName,
            (2, 7),
        ),
        (
            "underscore handler",
            s("app a\ntopic _ \"x\"\n"),
            InvalidHandlerName,
            (2, 7),
        ),
        (
            "handler starting with a digit",
            s("app a\ntopic 9lives \"x\"\n"),
            InvalidHandlerName,
            (2, 7),
        ),
        (
            "function name too long in dev",
            format!("app orders\ntopic {long_handler} \"x\"\n"),
            NameTooLong,
            (2, 7),
        ),
        (
            "function name too long in a stage",
            format!("app orders\nstage production\ntopic {stage_handler} \"x\"\n"),
            NameTooLong,
            (3, 7),
        ),
        (
            "function and role name too long with a long app",
            format!("app {}\ntopic t \"x\"\n", "a".repeat(59)),
            NameTooLong,
            (2, 7),
        ),
        // Keys
        (
            "misspelt key",
            s("app a\nqueue q \"x\" { batchsize = 5 }\n"),
            UnknownKey,
            (2, 15),
        ),
        (
            "key of another kind",
            s("app a\nqueue q \"x\" { prefix = \"a/\" }\n"),
            UnknownKey,
            (2, 15),
        ),
        (
            "kind option in a stage",
            s("app a\nstage prod { batch_size = 5 }\n"),
            UnknownKey,
            (2, 14),
        ),
        (
            "misspelt setting in defaults",
            s("app a\ndefaults { memroy = 256 }\n"),
            UnknownKey,
            (2, 12),
        ),
        (
            "kind option in defaults",
            s("app a\ndefaults { description = \"x\" }\n"),
            UnknownKey,
            (2, 12),
        ),
        (
            "option on a topic",
            s("app a\ntopic t \"x\" { batch_size = 1 }\n"),
            UnknownKey,
            (2, 15),
        ),
        // Sources
        (
            "queue without source",
            s("app a\nqueue q\n"),
            MissingSource,
            (2, 7),
        ),
        (
            "bucket without source",
            s("app a\nbucket b { prefix = \"x\" }\n"),
            MissingSource,
            (2, 8),
        ),
        (
            "schedule without source",
            s("app a\nschedule s { description = \"x\" }\n"),
            MissingSource,
            (2, 10),
        ),
        (
            "rule with a source",
            s("app a\nrule r \"x\" { pattern = { \"source\": [\"a\"] } }\n"),
            UnexpectedSource,
            (2, 8),
        ),
        (
            "rule without pattern",
            s("app a\nrule r { description = \"d\" }\n"),
            MissingKey,
            (2, 6),
        ),
        // Types
        (
            "quoted schedule",
            s("app a\nschedule s \"rate(1 hour)\"\n"),
            WrongType,
            (2, 12),
        ),
        (
            "schedule source on a queue",
            s("app a\nqueue q rate(1 hour)\n"),
            WrongType,
            (2, 9),
        ),
        (
            "quoted memory",
            s("app a\ndefaults { memory = \"256\" }\n"),
            WrongType,
            (2, 21),
        ),
        (
            "number in env",
            s("app a\ndefaults { env { PORT = 8080 } }\n"),
            WrongType,
            (2, 25),
        ),
        (
            "events as a string",
            s("app a\nbucket b \"bkt\" { events = \"s3:ObjectCreated:*\" }\n"),
            WrongType,
            (2, 27),
        ),
        (
            "pattern as a block",
            s("app a\nrule r { pattern { source = \"x\" } }\n"),
            WrongType,
            (2, 18),
        ),
        (
            "quoted architecture",
            s("app a\ndefaults { architecture = \"arm64\" }\n"),
            WrongType,
            (2, 27),
        ),
        (
            "quoted starting position",
            s("app a\nstream s \"x\" { starting_position = \"latest\" }\n"),
            WrongType,
            (2, 36),
        ),
        (
            "env as a list",
            s("app a\ndefaults { env = [\"A=1\"] }\n"),
            WrongType,
            (2, 18),
        ),
        // Settings
        (
            "timeout without unit",
            s("app a\ndefaults { timeout = 60 }\n"),
            InvalidDuration,
            (2, 22),
        ),
        (
            "timeout in milliseconds",
            s("app a\ndefaults { timeout = 1500ms }\n"),
            InvalidDuration,
            (2, 22),
        ),
        (
            "memory too small",
            s("app a\ndefaults { memory = 64 }\n"),
            OutOfRange,
            (2, 21),
        ),
        (
            "memory too large",
            s("app a\nstage prod { memory = 20000 }\n"),
            OutOfRange,
            (2, 23),
        ),
        (
            "timeout too long",
            s("app a\ndefaults { timeout = 16m }\n"),
            OutOfRange,
            (2, 22),
        ),
        (
            "zero timeout",
            s("app a\ntopic t \"x\" { timeout = 0s }\n"),
            OutOfRange,
            (2, 25),
        ),
        (
            "negative reserved concurrency",
            s("app a\ndefaults { reserved_concurrency = -1 }\n"),
            OutOfRange,
            (2, 35),
        ),
        (
            "unknown architecture",
            s("app a\ndefaults { architecture = aarch64 }\n"),
            InvalidValue,
            (2, 27),
        ),
        (
            "reserved env var",
            s("app a\ndefaults { env { AWS_REGION = \"x\" } }\n"),
            InvalidEnvironment,
            (2, 18),
        ),
        (
            "bad env var name",
            s("app a\ndefaults { env = { \"1ABC\": \"x\" } }\n"),
            InvalidEnvironment,
            (2, 20),
        ),
        (
            "one-letter env var",
            s("app a\ntopic t \"x\" { env { A = \"x\" } }\n"),
            InvalidEnvironment,
            (2, 21),
        ),
        (
            "env over 4 KB in defaults",
            format!(
                "app a\ndefaults {{ env {{ BIG = \"{}\" }} }}\n",
                "x".repeat(4100)
            ),
            InvalidEnvironment,
            (2, 12),
        ),
        (
            "env over 4 KB once merged",
            format!(
                "app a\ndefaults {{ env {{ A1 = \"{}\" }} }}\ntopic t \"x\" {{ env {{ B1 = \"{}\" }} }}\n",
                "x".repeat(3000),
                "y".repeat(2000)
            ),
            InvalidEnvironment,
            (3, 15),
        ),
        (
            "aws: tag",
            s("app a\ndefaults { tags { \"aws:x\" = \"1\" } }\n"),
            InvalidTag,
            (2, 19),
        ),
        (
            "chalice: tag",
            s("app a\ndefaults { tags { \"chalice:app\" = \"1\" } }\n"),
            InvalidTag,
            (2, 19),
        ),
        (
            "tag value with |",
            s("app a\ndefaults { tags { team = \"a|b\" } }\n"),
            InvalidTag,
            (2, 26),
        ),
        (
            "too many tags",
            format!(
                "app a\ndefaults {{ tags {{ {} }} }}\n",
                many_tags.join(", ")
            ),
            InvalidTag,
            (2, 12),
        ),
        // Schedules
        (
            "description too long",
            format!(
                "app a\nschedule s rate(1 hour) {{ description = \"{}\" }}\n",
                "d".repeat(513)
            ),
            TooLong,
            (2, 41),
        ),
        (
            "plural rate of 1",
            s("app a\nschedule s rate(1 hours)\n"),
            InvalidRate,
            (2, 19),
        ),
        (
            "singular rate of 5",
            s("app a\nschedule s rate(5 minute)\n"),
            InvalidRate,
            (2, 19),
        ),
        (
            "zero rate",
            s("app a\nschedule s rate(0 minutes)\n"),
            InvalidRate,
            (2, 17),
        ),
        (
            "rate in weeks",
            s("app a\nschedule s rate(2 weeks)\n"),
            InvalidRate,
            (2, 19),
        ),
        (
            "rate in seconds",
            s("app a\nschedule s rate(30 seconds)\n"),
            InvalidRate,
            (2, 20),
        ),
        (
            "cron with 5 fields",
            s("app a\nschedule s cron(0 2 * * ?)\n"),
            InvalidCron,
            (2, 17),
        ),
        (
            "cron with both days *",
            s("app a\nschedule s cron(0 2 * * * *)\n"),
            InvalidCron,
            (2, 25),
        ),
        (
            "cron with both days ?",
            s("app a\nschedule s cron(0 2 ? * ? *)\n"),
            InvalidCron,
            (2, 25),
        ),
        (
            "cron minute 60",
            s("app a\nschedule s cron(60 2 * * ? *)\n"),
            InvalidCron,
            (2, 17),
        ),
        (
            "cron hour 24",
            s("app a\nschedule s cron(0 24 * * ? *)\n"),
            InvalidCron,
            (2, 19),
        ),
        (
            "cron day 32",
            s("app a\nschedule s cron(0 2 32 * ? *)\n"),
            InvalidCron,
            (2, 21),
        ),
        (
            "cron month 13",
            s("app a\nschedule s cron(0 2 * 13 ? *)\n"),
            InvalidCron,
            (2, 23),
        ),
        (
            "cron weekday 8",
            s("app a\nschedule s cron(0 2 ? * 8 *)\n"),
            InvalidCron,
            (2, 25),
        ),
        (
            "cron year 2200",
            s("app a\nschedule s cron(0 2 * * ? 2200)\n"),
            InvalidCron,
            (2, 27),
        ),
        (
            "cron with two #",
            s("app a\nschedule s cron(0 2 ? * 2#1,3#2 *)\n"),
            InvalidCron,
            (2, 25),
        ),
        (
            "cron ? in minutes",
            s("app a\nschedule s cron(? 2 * * ? *)\n"),
            InvalidCron,
            (2, 17),
        ),
        (
            "cron W in hours",
            s("app a\nschedule s cron(0 2W * * ? *)\n"),
            InvalidCron,
            (2, 19),
        ),
        // Rules
        (
            "empty pattern",
            s("app a\nrule r { pattern = {} }\n"),
            InvalidPattern,
            (2, 20),
        ),
        (
            "pattern value not an array",
            s("app a\nrule r { pattern = { \"source\": \"aws.s3\" } }\n"),
            InvalidPattern,
            (2, 32),
        ),
        (
            "empty match array",
            s("app a\nrule r { pattern = { \"source\": [] } }\n"),
            InvalidPattern,
            (2, 32),
        ),
        (
            "unknown content filter",
            s("app a\nrule r { pattern = { \"detail\": { \"key\": [{ \"prefx\": \"a\" }] } } }\n"),
            InvalidPattern,
            (2, 44),
        ),
        (
            "$or with one branch",
            s("app a\nrule r { pattern = { \"$or\": [{ \"a\": [1] }] } }\n"),
            InvalidPattern,
            (2, 29),
        ),
        (
            "numeric with a string",
            s("app a\nrule r { pattern = { \"n\": [{ \"numeric\": [\">\", \"0\"] }] } }\n"),
            InvalidPattern,
            (2, 47),
        ),
        (
            "pattern over 4096 characters",
            format!(
                "app a\nrule r {{ pattern = {{ \"source\": [{}] }} }}\n",
                patterns.join(",")
            ),
            TooLong,
            (2, 20),
        ),
        (
            "bus with a space",
            s("app a\nrule r { pattern = { \"source\": [\"a\"] }, bus = \"my bus\" }\n"),
            InvalidEventBus,
            (2, 47),
        ),
        // Buckets
        (
            "uppercase bucket",
            s("app a\nbucket b \"My-Bucket\"\n"),
            InvalidBucket,
            (2, 11),
        ),
        (
            "short bucket",
            s("app a\nbucket b \"ab\"\n"),
            InvalidBucket,
            (2, 10),
        ),
        (
            "IP bucket",
            s("app a\nbucket b \"192.168.5.4\"\n"),
            InvalidBucket,
            (2, 10),
        ),
        (
            "bucket with -s3alias",
            s("app a\nbucket b \"abc-s3alias\"\n"),
            InvalidBucket,
            (2, 14),
        ),
        (
            "bucket with ..",
            s("app a\nbucket b \"a..b\"\n"),
            InvalidBucket,
            (2, 12),
        ),
        (
            "misspelt S3 event",
            s("app a\nbucket b \"bkt\" { events = [\"s3:ObjectCreated:Putt\"] }\n"),
            UnknownS3Event,
            (2, 28),
        ),
        (
            "test event",
            s("app a\nbucket b \"bkt\" { events = [\"s3:TestEvent\"] }\n"),
            UnknownS3Event,
            (2, 28),
        ),
        (
            "no events",
            s("app a\nbucket b \"bkt\" { events = [] }\n"),
            InvalidValue,
            (2, 27),
        ),
        (
            "empty prefix",
            s("app a\nbucket b \"bkt\" { prefix = \"\" }\n"),
            InvalidValue,
            (2, 27),
        ),
        (
            "overlapping notifications",
            s(
                "app a\nbucket b1 \"bkt\"\nbucket b2 \"bkt\" { events = [\"s3:ObjectCreated:Put\"] }\n",
            ),
            OverlappingNotification,
            (3, 11),
        ),
        (
            "overlapping prefixes",
            s(
                "app a\nbucket b1 \"bkt\" { prefix = \"img/\" }\nbucket b2 \"bkt\" { prefix = \"img/thumbs/\" }\n",
            ),
            OverlappingNotification,
            (3, 11),
        ),
        // Topics and queues
        (
            "topic with a space",
            s("app a\ntopic t \"my topic\"\n"),
            InvalidTopic,
            (2, 9),
        ),
        (
            "topic ARN with a short account",
            s("app a\ntopic t \"arn:aws:sns:us-east-1:1234:t\"\n"),
            InvalidTopic,
            (2, 9),
        ),
        (
            "FIFO topic",
            s("app a\ntopic t \"t.fifo\"\n"),
            FifoConstraint,
            (2, 9),
        ),
        (
            "queue name too long",
            format!("app a\nqueue q \"{}\"\n", "q".repeat(81)),
            InvalidQueue,
            (2, 9),
        ),
        (
            "queue URL on another host",
            s("app a\nqueue q \"https://example.com/123456789012/q\"\n"),
            InvalidQueue,
            (2, 9),
        ),
        (
            "FIFO batch over 10",
            s("app a\nqueue q \"q.fifo\" { batch_size = 11 }\n"),
            FifoConstraint,
            (2, 33),
        ),
        (
            "FIFO batching window",
            s("app a\nqueue q \"q.fifo\" { batching_window = 5s }\n"),
            FifoConstraint,
            (2, 20),
        ),
        (
            "big batch without window",
            s("app a\nqueue q \"x\" { batch_size = 100 }\n"),
            MissingKey,
            (2, 28),
        ),
        (
            "big batch with a zero window",
            s("app a\nqueue q \"x\" { batch_size = 100, batching_window = 0s }\n"),
            OutOfRange,
            (2, 51),
        ),
        (
            "zero batch",
            s("app a\nqueue q \"x\" { batch_size = 0 }\n"),
            OutOfRange,
            (2, 28),
        ),
        (
            "batch over 10000",
            s("app a\nqueue q \"x\" { batch_size = 10001, batching_window = 1s }\n"),
            OutOfRange,
            (2, 28),
        ),
        (
            "maximum concurrency of 1",
            s("app a\nqueue q \"x\" { maximum_concurrency = 1 }\n"),
            OutOfRange,
            (2, 37),
        ),
        (
            "window over 300s",
            s("app a\nqueue q \"x\" { batching_window = 301s }\n"),
            OutOfRange,
            (2, 33),
        ),
        // Streams and tables
        (
            "stream with a slash",
            s("app a\nstream s \"a/b\"\n"),
            InvalidStream,
            (2, 10),
        ),
        (
            "stream ARN without stream/",
            s("app a\nstream s \"arn:aws:kinesis:us-east-1:123456789012:s\"\n"),
            InvalidStream,
            (2, 10),
        ),
        (
            "unknown starting position",
            s("app a\nstream s \"x\" { starting_position = earliest }\n"),
            InvalidValue,
            (2, 36),
        ),
        (
            "bad timestamp",
            s(
                "app a\nstream s \"x\" { starting_position = at_timestamp(\"2026-13-01T00:00:00Z\") }\n",
            ),
            InvalidValue,
            (2, 49),
        ),
        (
            "stream batch of 0",
            s("app a\nstream s \"x\" { batch_size = 0 }\n"),
            OutOfRange,
            (2, 29),
        ),
        (
            "short table name",
            s("app a\ntable t \"ab\"\n"),
            InvalidTable,
            (2, 9),
        ),
        (
            "table ARN instead of stream ARN",
            s("app a\ntable t \"arn:aws:dynamodb:us-east-1:123456789012:table/orders\"\n"),
            InvalidTable,
            (2, 9),
        ),
        (
            "table at a timestamp",
            s(
                "app a\ntable t \"orders\" { starting_position = at_timestamp(\"2026-01-01T00:00:00Z\") }\n",
            ),
            InvalidStartingPosition,
            (2, 40),
        ),
        (
            "table window over 300s",
            s("app a\ntable t \"orders\" { batching_window = 301s }\n"),
            OutOfRange,
            (2, 38),
        ),
    ]
    .into_iter()
    .chain(issue_9_cases())
    .chain(delivery_cases())
    .collect()
}

/// The 1-based column of the first `needle` in `line`.
fn col(line: &str, needle: &str) -> usize {
    line.find(needle)
        .unwrap_or_else(|| panic!("no {needle:?} in {line:?}"))
        + 1
}

/// Variables, per-stage names, and the settings of issue #9 (policy, roles, logs, tracing, layers,
/// `/tmp`, VPC).
fn issue_9_cases() -> Vec<(&'static str, String, ErrorKind, (usize, usize))> {
    let s = |x: &str| x.to_string();
    let layer = |i: usize| format!("\"arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1\"");
    let six_layers = format!(
        "defaults {{ layers = [{}] }}",
        (0..6).map(layer).collect::<Vec<_>>().join(", ")
    );
    let policy = |i: usize| format!("\"arn:aws:iam::aws:policy/P{i}\"");
    let policies = |range: std::ops::Range<usize>| range.map(policy).collect::<Vec<_>>().join(", ");
    let many_policies = format!(
        "app a\ndefaults {{ managed_policies = [{}] }}\ntopic t \"t\" {{ managed_policies = [{}] }}\n",
        policies(0..15),
        policies(15..21)
    );
    let subnets: Vec<String> = (1..=17).map(|i| format!("\"subnet-{i:x}\"")).collect();
    let many_subnets = format!(
        "defaults {{ vpc {{ subnets = [{}], security_groups = [\"sg-1\"] }} }}",
        subnets.join(", ")
    );
    // `${stage}-` and 70 characters: 74 in `dev`, 89 in `production-eu-west` (SQS allows 80).
    let long_queue = format!("queue q \"${{stage}}-{}\"", "q".repeat(70));
    let long_tag = format!(
        "defaults {{ tags {{ t = \"{}${{stage}}\" }} }}",
        "v".repeat(250)
    );
    let big_env = format!(
        "app a\ndefaults {{ env {{ BIG = \"{}${{stage}}\" }} }}\nstage production\n",
        "x".repeat(4085)
    );
    // A statement in a policy of `defaults`, and where its `{` is.
    let statement =
        |members: &str| format!("defaults {{ policy = {{ \"Statement\": [{{ {members} }}] }} }}");
    let ok = r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "*""#;
    let stmt_at = |members: &str| col(&statement(members), "[{") + 1;
    let at = |members: &str, needle: &str| col(&statement(members), needle);
    let stmt = |members: &str| format!("app a\n{}\n", statement(members));
    vec![
        // Variables
        (
            "unknown variable",
            s("app a\nqueue q \"orders-${stag}\"\n"),
            UnknownVariable,
            (2, 17),
        ),
        (
            "unclosed variable",
            s("app a\nqueue q \"orders-${stage\"\n"),
            UnclosedVariable,
            (2, 17),
        ),
        (
            "unknown variable in a policy resource",
            stmt(r#""Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b-${stge}/*""#),
            UnknownVariable,
            (
                2,
                at(
                    r#""Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b-${stge}/*""#,
                    "${stge}",
                ),
            ),
        ),
        (
            "deploy-time variable in an env value",
            s("app a\ndefaults { env { REGION_NAME = \"${region}\" } }\n"),
            MisplacedVariable,
            (2, 33),
        ),
        (
            "deploy-time variable in a plain queue name",
            s("app a\nqueue q \"orders-${account}\"\n"),
            MisplacedVariable,
            (2, 17),
        ),
        (
            "deploy-time variable in a queue URL",
            s("app a\nqueue q \"https://sqs.${region}.amazonaws.com/123456789012/q\"\n"),
            MisplacedVariable,
            (2, 22),
        ),
        (
            "IAM variable in a tag value",
            s("app a\ntopic t \"t\" { tags { user = \"${aws:username}\" } }\n"),
            MisplacedVariable,
            (2, 30),
        ),
        (
            "unknown variable in a rule's bus",
            s("app a\nrule r { pattern = { \"source\": [\"a\"] }, bus = \"${app}-${stages}\" }\n"),
            UnknownVariable,
            (2, 55),
        ),
        (
            "deploy-time variable in a rule's bus ARN",
            s(
                "app a\nrule r { pattern = { \"source\": [\"a\"] }, bus = \"arn:aws:events:${region}:123456789012:event-bus/b\" }\n",
            ),
            MisplacedVariable,
            (2, 63),
        ),
        (
            "variable in an S3 prefix",
            s("app a\nbucket b \"bkt\" { prefix = \"${stage}/in/\" }\n"),
            MisplacedVariable,
            (2, 28),
        ),
        (
            "variable in an event pattern",
            s("app a\nrule r { pattern = { \"detail\": { \"stage\": [\"${stage}\"] } } }\n"),
            MisplacedVariable,
            (2, 45),
        ),
        // Names that only break in one stage
        (
            "queue name too long only in one stage",
            format!("app a\nstage production-eu-west\n{long_queue}\n"),
            InvalidQueue,
            (3, 9),
        ),
        (
            "bucket name invalid only in one stage",
            s("app a\nstage Prod\nbucket b \"uploads-${stage}\"\n"),
            InvalidBucket,
            (3, 10),
        ),
        (
            "notifications overlapping only in one stage",
            s("app a\nstage prod\nbucket b1 \"b-${stage}\"\nbucket b2 \"b-prod\"\n"),
            OverlappingNotification,
            (4, 11),
        ),
        (
            "tag value too long only in one stage",
            format!("app a\nstage production\n{long_tag}\n"),
            InvalidTag,
            (3, col(&long_tag, "\"vvv")),
        ),
        (
            "env over 4 KB only in one stage",
            big_env,
            InvalidEnvironment,
            (3, 7),
        ),
        (
            "role name too long only in one stage",
            format!(
                "app a\nstage production\ndefaults {{ role = \"arn:aws:iam::123456789012:role/${{stage}}-{}\" }}\n",
                "r".repeat(55)
            ),
            InvalidRole,
            (3, 19),
        ),
        // Logs, tracing, /tmp
        (
            "ephemeral storage under 512 MB",
            s("app a\ndefaults { ephemeral_storage = 256 }\n"),
            OutOfRange,
            (2, 32),
        ),
        (
            "ephemeral storage over 10240 MB",
            s("app a\ntopic t \"t\" { ephemeral_storage = 20480 }\n"),
            OutOfRange,
            (2, 35),
        ),
        (
            "log retention of 15 days",
            s("app a\ndefaults { log_retention = 15 }\n"),
            InvalidValue,
            (2, 28),
        ),
        (
            "unknown log level",
            s("app a\ndefaults { log_level = loud }\n"),
            InvalidValue,
            (2, 24),
        ),
        (
            "unknown log format",
            s("app a\ndefaults { log_format = yaml }\n"),
            InvalidValue,
            (2, 25),
        ),
        (
            "log level with text logs once merged",
            s("app a\ndefaults { log_level = info }\nstage prod { log_format = text }\n"),
            ConflictingSettings,
            (3, 27),
        ),
        (
            "unknown tracing mode",
            s("app a\ndefaults { tracing = passthrough }\n"),
            InvalidValue,
            (2, 22),
        ),
        // Layers
        (
            "six layers",
            format!("app a\n{six_layers}\n"),
            InvalidLayer,
            (
                2,
                col(
                    &six_layers,
                    "\"arn:aws:lambda:us-east-1:123456789012:layer:l5",
                ),
            ),
        ),
        (
            "layer ARN without a version",
            s(
                "app a\ndefaults { layers = [\"arn:aws:lambda:us-east-1:123456789012:layer:ext\"] }\n",
            ),
            InvalidLayer,
            (2, 22),
        ),
        (
            "duplicate layer",
            format!(
                "app a\ndefaults {{ layers = [{}, {}] }}\n",
                layer(1),
                layer(1)
            ),
            DuplicateValue,
            (2, 22 + layer(1).len() + 2),
        ),
        // VPC
        (
            "vpc without security groups",
            s("app a\ndefaults { vpc { subnets = [\"subnet-0abc\"] } }\n"),
            MissingKey,
            (2, 12),
        ),
        (
            "vpc with no subnet",
            s("app a\ndefaults { vpc { subnets = [], security_groups = [\"sg-1\"] } }\n"),
            InvalidVpc,
            (2, 28),
        ),
        (
            "bad subnet id",
            s(
                "app a\ndefaults { vpc { subnets = [\"subnet-xyz\"], security_groups = [\"sg-1\"] } }\n",
            ),
            InvalidVpc,
            (2, 29),
        ),
        (
            "17 subnets",
            format!("app a\n{many_subnets}\n"),
            InvalidVpc,
            (2, col(&many_subnets, "\"subnet-11\"")),
        ),
        (
            "unknown vpc key",
            s(
                "app a\ndefaults { vpc { subnets = [\"subnet-1\"], security_groups = [\"sg-1\"], egress = true } }\n",
            ),
            UnknownKey,
            (2, 70),
        ),
        // Roles and managed policies
        (
            "role that is a user ARN",
            s("app a\nstage prod { role = \"arn:aws:iam::123456789012:user/bob\" }\n"),
            InvalidRole,
            (2, 21),
        ),
        (
            "role given by name",
            s("app a\ndefaults { role = \"orders-lambda\" }\n"),
            InvalidRole,
            (2, 19),
        ),
        (
            "role that is a policy ARN",
            s("app a\ntopic t \"t\" { role = \"arn:aws:iam::aws:policy/ReadOnlyAccess\" }\n"),
            InvalidRole,
            (2, 22),
        ),
        (
            "managed policy that is a role ARN",
            s("app a\ndefaults { managed_policies = [\"arn:aws:iam::123456789012:role/r\"] }\n"),
            InvalidManagedPolicy,
            (2, 32),
        ),
        (
            "21 managed policies once merged",
            many_policies,
            InvalidManagedPolicy,
            (3, 15),
        ),
        (
            "duplicate managed policy",
            format!(
                "app a\ndefaults {{ managed_policies = [{}, {}] }}\n",
                policy(1),
                policy(1)
            ),
            DuplicateValue,
            (2, 32 + policy(1).len() + 2),
        ),
        // Policy documents
        (
            "policy that is not an object",
            s("app a\ndefaults { policy = [\"s3:GetObject\"] }\n"),
            WrongType,
            (2, 21),
        ),
        (
            "policy without Statement",
            s("app a\ndefaults { policy = { \"Version\": \"2012-10-17\" } }\n"),
            InvalidPolicy,
            (2, 21),
        ),
        (
            "statement without Effect",
            stmt(r#""Action": "*", "Resource": "*""#),
            InvalidPolicy,
            (2, stmt_at(r#""Action": "*", "Resource": "*""#)),
        ),
        (
            "Effect Maybe",
            stmt(r#""Effect": "Maybe", "Action": "*", "Resource": "*""#),
            InvalidPolicy,
            (
                2,
                at(
                    r#""Effect": "Maybe", "Action": "*", "Resource": "*""#,
                    "\"Maybe",
                ),
            ),
        ),
        (
            "statement without Action",
            stmt(r#""Effect": "Allow", "Resource": "*""#),
            InvalidPolicy,
            (2, stmt_at(r#""Effect": "Allow", "Resource": "*""#)),
        ),
        (
            "action not service:Action",
            stmt(r#""Effect": "Allow", "Action": ["s3GetObject"], "Resource": "*""#),
            InvalidPolicy,
            (
                2,
                at(
                    r#""Effect": "Allow", "Action": ["s3GetObject"], "Resource": "*""#,
                    "\"s3Get",
                ),
            ),
        ),
        (
            "Action and NotAction",
            stmt(r#""Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*""#),
            InvalidPolicy,
            (
                2,
                at(
                    r#""Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*""#,
                    "\"NotAction",
                ),
            ),
        ),
        (
            "statement without Resource",
            stmt(r#""Effect": "Allow", "Action": "*""#),
            InvalidPolicy,
            (2, stmt_at(r#""Effect": "Allow", "Action": "*""#)),
        ),
        (
            "resource that is not an ARN",
            stmt(r#""Effect": "Allow", "Action": "*", "Resource": "my-bucket/*""#),
            InvalidPolicy,
            (
                2,
                at(
                    r#""Effect": "Allow", "Action": "*", "Resource": "my-bucket/*""#,
                    "\"my-bucket",
                ),
            ),
        ),
        (
            "NotPrincipal",
            stmt(&format!(r#"{ok}, "NotPrincipal": {{ "AWS": "*" }}"#)),
            InvalidPolicy,
            (
                2,
                at(
                    &format!(r#"{ok}, "NotPrincipal": {{ "AWS": "*" }}"#),
                    "\"NotPrincipal",
                ),
            ),
        ),
        (
            "Principal",
            stmt(&format!(r#"{ok}, "Principal": "*""#)),
            InvalidPolicy,
            (2, at(&format!(r#"{ok}, "Principal": "*""#), "\"Principal")),
        ),
        (
            "unknown statement key",
            stmt(&format!(r#"{ok}, "Actions": ["s3:PutObject"]"#)),
            InvalidPolicy,
            (
                2,
                at(
                    &format!(r#"{ok}, "Actions": ["s3:PutObject"]"#),
                    "\"Actions",
                ),
            ),
        ),
        (
            "reserved Sid",
            stmt(&format!(r#""Sid": "Logs", {ok}"#)),
            InvalidPolicy,
            (2, at(&format!(r#""Sid": "Logs", {ok}"#), "\"Logs")),
        ),
        (
            "unknown condition operator",
            stmt(&format!(
                r#"{ok}, "Condition": {{ "StringEqual": {{ "aws:RequestedRegion": "eu-west-1" }} }}"#
            )),
            InvalidPolicy,
            (
                2,
                at(
                    &format!(
                        r#"{ok}, "Condition": {{ "StringEqual": {{ "aws:RequestedRegion": "eu-west-1" }} }}"#
                    ),
                    "\"StringEqual",
                ),
            ),
        ),
        (
            "Sid used by defaults and a binding",
            format!(
                "app a\n{}\ntopic t \"t\" {{ policy = {{ \"Statement\": {{ \"Sid\": \"Read\", {ok} }} }} }}\n",
                statement(&format!(r#""Sid": "Read", {ok}"#))
            ),
            InvalidPolicy,
            (3, 48),
        ),
    ]
}

/// Retries, ages, bisection, parallelization, tumbling windows, on-failure destinations, filters and
/// filter policies: each binding line is the file's second, after `app a`.
fn delivery_cases() -> Vec<(&'static str, String, ErrorKind, (usize, usize))> {
    let s = |x: &str| x.to_string();
    let case = |what: &'static str, line: &str, kind: ErrorKind, needle: &str| {
        (
            what,
            format!("app a\n{line}\n"),
            kind,
            (2, col(line, needle)),
        )
    };
    let policy_keys: Vec<String> = (0..6).map(|i| format!("\"k{i}\": [\"v\"]")).collect();
    let values = |n: usize| {
        (0..n)
            .map(|i| format!("\"v{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let six_filters: Vec<String> = (0..6)
        .map(|i| format!("{{ \"body\": [\"{i}\"] }}"))
        .collect();
    let six = format!("queue q \"q\" {{ filter = [{}] }}", six_filters.join(", "));
    let combos = format!(
        "topic t \"t\" {{ filter_policy = {{ \"a\": [{}], \"b\": [{}] }} }}",
        values(10),
        values(16)
    );
    let keys = format!(
        "topic t \"t\" {{ filter_policy = {{ {} }} }}",
        policy_keys.join(", ")
    );
    vec![
        // Retries and ages
        case(
            "stream retries over 10000",
            "stream s \"x\" { maximum_retry_attempts = 10001 }",
            OutOfRange,
            "10001",
        ),
        case(
            "stream retries below -1",
            "stream s \"x\" { maximum_retry_attempts = -2 }",
            OutOfRange,
            "-2",
        ),
        case(
            "asynchronous retries over 2",
            "bucket b \"uploads\" { maximum_retry_attempts = 3 }",
            OutOfRange,
            "3 }",
        ),
        case(
            "record age under a minute",
            "stream s \"x\" { maximum_record_age = 30s }",
            OutOfRange,
            "30s",
        ),
        case(
            "record age over 7 days",
            "table t \"orders\" { maximum_record_age = 8d }",
            OutOfRange,
            "8d",
        ),
        case(
            "record age without a unit",
            "stream s \"x\" { maximum_record_age = 3600 }",
            InvalidDuration,
            "3600",
        ),
        case(
            "record age on a bucket",
            "bucket b \"uploads\" { maximum_record_age = 1h }",
            UnknownKey,
            "maximum_record_age",
        ),
        case(
            "event age on a stream",
            "stream s \"x\" { maximum_event_age = 1h }",
            UnknownKey,
            "maximum_event_age",
        ),
        case(
            "event age over 6 hours",
            "topic t \"t\" { maximum_event_age = 7h }",
            OutOfRange,
            "7h",
        ),
        case(
            "event age in milliseconds",
            "schedule s rate(1 hour) { maximum_event_age = 90500ms }",
            InvalidDuration,
            "90500ms",
        ),
        case(
            "retries on a queue",
            "queue q \"q\" { maximum_retry_attempts = 3 }",
            UnknownKey,
            "maximum_retry_attempts",
        ),
        // Stream options
        case(
            "bisect as a string",
            "table t \"orders\" { bisect_on_error = \"true\" }",
            WrongType,
            "\"true\"",
        ),
        case(
            "bisect on a queue",
            "queue q \"q\" { bisect_on_error = true }",
            UnknownKey,
            "bisect_on_error",
        ),
        case(
            "parallelization over 10",
            "stream s \"x\" { parallelization_factor = 11 }",
            OutOfRange,
            "11",
        ),
        case(
            "tumbling window over 900s",
            "stream s \"x\" { tumbling_window = 901s }",
            OutOfRange,
            "901s",
        ),
        case(
            "tumbling window on a rule",
            "rule r { pattern = { \"source\": [\"a\"] }, tumbling_window = 30s }",
            UnknownKey,
            "tumbling_window",
        ),
        (
            "a delivery key in defaults",
            s("app a\ndefaults { bisect_on_error = true }\n"),
            UnknownKey,
            (2, 12),
        ),
        (
            "a filter in a stage",
            s("app a\nstage prod { filter = { \"body\": [\"x\"] } }\n"),
            UnknownKey,
            (2, 14),
        ),
        (
            "a day-long timeout",
            s("app a\ndefaults { timeout = 1d }\n"),
            OutOfRange,
            (2, 22),
        ),
        // Destinations
        case(
            "on_failure on a queue",
            "queue q \"q\" { on_failure { queue = \"dead\" } }",
            UnknownKey,
            "on_failure",
        ),
        case(
            "misspelt destination",
            "stream s \"x\" { on_failure { que = \"dead\" } }",
            UnknownKey,
            "que ",
        ),
        case(
            "a bus for a stream",
            "stream s \"x\" { on_failure { bus = \"ops\" } }",
            InvalidDestination,
            "bus",
        ),
        case(
            "two destinations",
            "topic t \"t\" { on_failure { queue = \"dead\", topic = \"alerts\" } }",
            InvalidDestination,
            "topic =",
        ),
        case(
            "no destination",
            "topic t \"t\" { on_failure { } }",
            InvalidDestination,
            "{ }",
        ),
        case(
            "on_failure as a string",
            "topic t \"t\" { on_failure = \"dead\" }",
            WrongType,
            "\"dead\"",
        ),
        case(
            "an SNS ARN as a queue",
            "bucket b \"uploads\" { on_failure { queue = \"arn:aws:sns:us-east-1:123456789012:alerts\" } }",
            InvalidDestination,
            "\"arn:",
        ),
        case(
            "a FIFO queue destination",
            "stream s \"x\" { on_failure { queue = \"dead.fifo\" } }",
            FifoConstraint,
            "\"dead.fifo\"",
        ),
        case(
            "a FIFO topic destination",
            "schedule s rate(1 hour) { on_failure { topic = \"alerts.fifo\" } }",
            FifoConstraint,
            "\"alerts.fifo\"",
        ),
        case(
            "a bad bucket destination",
            "table t \"orders\" { on_failure { bucket = \"Bad_Bucket\" } }",
            InvalidBucket,
            "Bad_Bucket",
        ),
        case(
            "a queue URL destination",
            "topic t \"t\" { on_failure { queue = \"https://sqs.us-east-1.amazonaws.com/123456789012/dead\" } }",
            InvalidDestination,
            "\"https",
        ),
        case(
            "a bad function destination",
            "rule r { pattern = { \"source\": [\"a\"] }, on_failure { function = \"on failure\" } }",
            InvalidDestination,
            "\"on failure\"",
        ),
        case(
            "an unknown variable in a destination",
            "stream s \"x\" { on_failure { queue = \"dead-${stag}\" } }",
            UnknownVariable,
            "${stag}",
        ),
        case(
            "a deploy-time variable in a destination name",
            "stream s \"x\" { on_failure { queue = \"${region}-dead\" } }",
            MisplacedVariable,
            "${region}",
        ),
        (
            "a destination invalid in one stage",
            s("app a\nstage Prod\ntopic t \"t\" { on_failure { bucket = \"failed-${stage}\" } }\n"),
            InvalidBucket,
            (3, 37),
        ),
        // Filters
        case(
            "a filter on a topic",
            "topic t \"t\" { filter = { \"kind\": [\"a\"] } }",
            UnknownKey,
            "filter",
        ),
        case(
            "a filter on a rule",
            "rule r { pattern = { \"source\": [\"a\"] }, filter = { \"a\": [1] } }",
            UnknownKey,
            "filter",
        ),
        case(
            "a queue filter on no field",
            "queue q \"q\" { filter = { \"bdy\": { \"type\": [\"order\"] } } }",
            InvalidFilter,
            "\"bdy\"",
        ),
        case(
            "a stream filter on `kinesis`",
            "stream s \"x\" { filter = { \"kinesis\": { \"data\": [\"a\"] } } }",
            InvalidFilter,
            "\"kinesis\"",
        ),
        case(
            "a table filter on NewImage at the top",
            "table t \"orders\" { filter = { \"NewImage\": { \"a\": { \"S\": [\"x\"] } } } }",
            InvalidFilter,
            "\"NewImage\"",
        ),
        case("six filters", &six, InvalidFilter, "{ \"body\": [\"5\"] }"),
        case(
            "no filter",
            "queue q \"q\" { filter = [] }",
            InvalidFilter,
            "[]",
        ),
        case(
            "a filter as a string",
            "queue q \"q\" { filter = \"{}\" }",
            WrongType,
            "\"{}\"",
        ),
        case(
            "wildcard in a Lambda filter",
            "queue q \"q\" { filter = { \"body\": { \"a\": [ { \"wildcard\": \"x*\" } ] } } }",
            InvalidFilter,
            "\"wildcard\"",
        ),
        case(
            "a filter value not in an array",
            "queue q \"q\" { filter = { \"body\": { \"a\": \"x\" } } }",
            InvalidFilter,
            "\"x\"",
        ),
        // Filter policies
        case(
            "a filter policy on a queue",
            "queue q \"q\" { filter_policy = { \"a\": [\"x\"] } }",
            UnknownKey,
            "filter_policy",
        ),
        case(
            "a nested attribute policy",
            "topic t \"t\" { filter_policy = { \"order\": { \"kind\": [\"a\"] } } }",
            InvalidFilterPolicy,
            "{ \"kind\"",
        ),
        case("six policy keys", &keys, InvalidFilterPolicy, "\"k5\""),
        case(
            "151 combinations and more",
            &combos,
            InvalidFilterPolicy,
            "{ \"a\"",
        ),
        case(
            "a boolean attribute",
            "topic t \"t\" { filter_policy = { \"paid\": [true] } }",
            InvalidFilterPolicy,
            "true",
        ),
        case(
            "a scope without a policy",
            "topic t \"t\" { filter_policy_scope = message_body }",
            MissingKey,
            "filter_policy_scope",
        ),
        case(
            "an unknown scope",
            "topic t \"t\" { filter_policy = { \"a\": [\"x\"] }, filter_policy_scope = body }",
            InvalidValue,
            "body }",
        ),
    ]
}

#[test]
fn each_bad_input_is_refused_at_the_right_place() {
    let cases = cases();
    assert!(cases.len() >= 120, "{} cases", cases.len());
    assert!(issue_9_cases().len() >= 30);
    assert!(delivery_cases().len() >= 30);
    let mut failures = Vec::new();
    for (what, src, kind, at) in &cases {
        let d = load_err(src);
        let got: Vec<(ErrorKind, (usize, usize))> = d
            .items
            .iter()
            .map(|i| (i.kind, d.line_col(i.span.start)))
            .collect();
        if got != [(*kind, *at)] {
            failures.push(format!(
                "{what}: expected {kind:?} at {at:?}, got {got:?}\n{}",
                d.render(false)
            ));
            continue;
        }
        let item = &d.items[0];
        if item.label.is_empty()
            || item.help.as_deref().is_none_or(str::is_empty)
            || item.message.is_empty()
        {
            failures.push(format!("{what}: message, label or help missing: {item:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_error_in_a_file_is_reported_in_order() {
    let src = r#"app orders
defaults { memory = 64, timeout = 60 }
schedule hourly rate(1 hours)
queue onOrder "my-queue" { batchsize = 5 }
bucket up "Bad_Bucket" { events = ["s3:ObjectCreated:Putt"] }
topic hourly "t"
"#;
    let d = load_err(src);
    let got: Vec<(ErrorKind, (usize, usize))> = d
        .items
        .iter()
        .map(|i| (i.kind, d.line_col(i.span.start)))
        .collect();
    assert_eq!(
        got,
        [
            (OutOfRange, (2, 21)),
            (InvalidDuration, (2, 35)),
            (InvalidRate, (3, 24)),
            (InvalidHandlerName, (4, 7)),
            (UnknownKey, (4, 28)),
            (InvalidBucket, (5, 12)),
            (UnknownS3Event, (5, 36)),
            (DuplicateHandler, (6, 7)),
        ]
    );
}

#[test]
fn rendered_output_points_at_the_file_and_helps() {
    let d = load_err("app a\nqueue q \"x\" { batchsize = 5 }\n");
    let out = d.render(false);
    assert!(out.contains("events.chalice:2:15"), "{out}");
    assert!(out.contains("^^^^^^^^^"), "{out}");
    assert!(out.contains("help: did you mean `batch_size`?"), "{out}");
    assert!(
        out.contains("error[E014]: unknown key `batchsize` for a queue binding"),
        "{out}"
    );
    assert!(out.contains("due to 1 previous error"), "{out}");
}

#[test]
fn rendered_output_of_several_errors() {
    let d = load_err("app a\nschedule s rate(1 hours)\ntopic t \"t.fifo\"\ntopic t \"u\"\n");
    let out = d.render(false);
    for needle in [
        "events.chalice:2:19",
        "events.chalice:3:9",
        "events.chalice:4:7",
        "help: write `rate(1 hour)`",
        "first bound here",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    assert!(out.contains("due to 3 previous errors"), "{out}");
}

#[test]
fn messages_say_what_and_how() {
    let one = |src: &str| load_err(src).items.remove(0);
    let d = one("app a\nqueue q \"x\" { prefix = \"a\" }\n");
    assert_eq!(
        d.help.as_deref(),
        Some("`prefix` is an option of bucket bindings")
    );
    let d = one("app a\ndefaults { timeout = 60 }\n");
    assert_eq!(d.help.as_deref(), Some("add a unit: `60s`"));
    let d = one("app a\ndefaults { memory = \"256\" }\n");
    assert_eq!(d.message, "expected a number, found a string");
    let d = one("app a\nschedule s \"rate(1 hour)\"\n");
    assert_eq!(d.help.as_deref(), Some("drop the quotes: `rate(1 hour)`"));
    let d = one("app a\nschedule s rate(5 minute)\n");
    assert_eq!(d.help.as_deref(), Some("write `rate(5 minutes)`"));
    let d = one("app a\ndefaults { memory = 64 }\n");
    assert!(d.message.contains("128 MB and 10240 MB"), "{}", d.message);
    let d = one(&format!(
        "app orders\nstage production\ntopic {} \"x\"\n",
        "h".repeat(50)
    ));
    assert!(d.message.contains("stage `production`"), "{}", d.message);
    assert!(
        d.message
            .contains(&format!("`orders-production-{}`", "h".repeat(50))),
        "{}",
        d.message
    );
    let d = one("app a\nbucket b1 \"bkt\"\nbucket b2 \"bkt\"\n");
    assert_eq!(d.related.len(), 1);
    let d = one("app a\nrule r { pattern = { \"k\": [{ \"anything_but\": \"x\" }] } }\n");
    assert_eq!(d.help.as_deref(), Some("did you mean `anything-but`?"));
    let d = one("app a\nbucket b \"bkt\" { events = [\"s3:objectcreated:put\"] }\n");
    assert_eq!(
        d.help.as_deref(),
        Some("did you mean `s3:ObjectCreated:Put`?")
    );
    let d = one("app a\nstream s \"x\" { starting_position = earliest }\n");
    assert_eq!(d.help.as_deref(), Some("did you mean `trim_horizon`?"));
    let d = one("app a\ntopic onUpload \"x\"\n");
    assert!(d.help.as_deref().unwrap().contains("`on_upload`"), "{d:?}");
    // The function's name is its own role's too.
    let d = one(&format!("app {}\ntopic t \"x\"\n", "a".repeat(59)));
    assert!(
        d.message.starts_with("function and role name"),
        "{}",
        d.message
    );
    assert!(
        d.message.contains("Lambda and IAM allow 64"),
        "{}",
        d.message
    );
}

#[test]
fn errors_of_one_stage_name_it() {
    let one = |src: &str| load_err(src).items.remove(0);
    let d = one(&format!(
        "app a\nstage production-eu-west\nqueue q \"${{stage}}-{}\"\n",
        "q".repeat(70)
    ));
    assert!(
        d.message
            .starts_with("in stage `production-eu-west`: invalid queue"),
        "{}",
        d.message
    );
    assert!(
        d.message.contains("is 89 characters; SQS allows 1 to 80"),
        "{}",
        d.message
    );
    let d = one("app a\nstage Prod\nbucket b \"uploads-${stage}\"\n");
    assert_eq!(
        d.message,
        "in stage `Prod`: bucket name `uploads-Prod` contains `P`"
    );
    assert_eq!(
        d.help.as_deref(),
        Some("bucket names are lowercase: `uploads-prod`")
    );
    // Wrong in every stage: once per stage, each named.
    let d = load_err("app a\nstage prod\ntopic t \"my topic ${stage}\"\n");
    let messages: Vec<&str> = d.items.iter().map(|i| i.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].starts_with("in stage `dev`: "), "{messages:?}");
    assert!(messages[1].starts_with("in stage `prod`: "), "{messages:?}");
    // Without `${stage}` a name reads the same everywhere: once, no stage.
    let d = load_err("app my_app\nstage prod\nbucket b \"${app}-uploads\"\n");
    assert_eq!(d.items.len(), 1);
    assert_eq!(
        d.items[0].message,
        "bucket name `my_app-uploads` contains `_`"
    );
    assert_eq!(
        d.line_col(d.items[0].span.start),
        (3, 10),
        "the whole literal"
    );
    // Options are checked once, whatever the stages.
    let d = load_err("app a\nstage prod\nstage qa\nqueue q \"q-${stage}\" { batch_size = 0 }\n");
    assert_eq!(d.items.len(), 1, "{}", d.render(false));
    // A variable in a string without escapes is pointed at exactly.
    let d = one("app a\ndefaults { env { A1 = \"${ stage }\" } }\n");
    assert_eq!(d.kind, UnknownVariable);
    assert_eq!(d.help.as_deref(), Some("did you mean `${stage}`?"));
}
