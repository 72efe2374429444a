//! The `orderbridge` binary as an operator runs it: global flags anywhere, one-line errors that
//! name the cause, `--stack` read from CloudFormation (moto), accounts checked against Secrets
//! Manager and subscribed to ORDER_CHANGE (a fake Notifications API), `doctor`, dead letters and
//! the failures queue.
//!
//! The tests against AWS need moto: `ORDERBRIDGE_TEST_MOTO_URL` (set by `scripts/test`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

const BIN: &str = env!("CARGO_BIN_EXE_orderbridge");

fn moto_url() -> String {
    std::env::var("ORDERBRIDGE_TEST_MOTO_URL")
        .expect("ORDERBRIDGE_TEST_MOTO_URL is not set: run the tests through scripts/test, which starts moto")
}

fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{}-{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The binary with a clean environment: no AWS configuration but what a test gives it.
fn orderbridge(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") || key.starts_with("ORDERBRIDGE_") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
        .env("AWS_CONFIG_FILE", "/nonexistent/orderbridge-test/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/orderbridge-test/credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(std::env::temp_dir());
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run orderbridge")
}

const MOTO_ENV: &[(&str, &str)] =
    &[("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_REGION", "eu-central-1")];

/// The binary against moto, in a blocking task so a test's servers keep running.
async fn on_moto(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let url = moto_url();
        let mut all: Vec<&str> = vec!["--endpoint-url", &url];
        all.extend(args.iter().map(String::as_str));
        orderbridge(&all, MOTO_ENV)
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_ok(output: &Output) -> String {
    assert!(output.status.success(), "failed: {}\nstdout: {}", stderr(output), stdout(output));
    stdout(output)
}

/// Fails with exactly one line on stderr that names every one of `causes`.
#[track_caller]
fn assert_one_line_error(output: &Output, causes: &[&str]) -> String {
    let err = stderr(output);
    assert!(!output.status.success(), "expected a failure; stdout: {}", stdout(output));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "stderr is not one line: {err:?}");
    assert!(lines[0].starts_with("error: "), "{err:?}");
    for cause in causes {
        assert!(lines[0].contains(cause), "{err:?} does not name {cause:?}");
    }
    for dump in ["ServiceError", "DispatchFailure", "SdkBody", "raw: Response", "{ "] {
        assert!(!lines[0].contains(dump), "SDK dump in {err:?}");
    }
    assert!(lines[0].len() < 450, "too long: {err:?}");
    lines[0].to_string()
}

async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_url())
        .region(aws_sdk_dynamodb::config::Region::new("eu-central-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

/// A stack on moto with every output an Orderbridge stack has: real queues, and a table created
/// with `init-table`.
struct TestStack {
    name: String,
    table: String,
    outputs: std::collections::BTreeMap<String, String>,
}

impl TestStack {
    fn output(&self, key: &str) -> &str {
        &self.outputs[key]
    }
}

async fn test_stack(with_table_output: bool) -> TestStack {
    let name = unique("obstack");
    let table = unique("orders");
    assert_ok(&on_moto(args(&["--table", &table, "init-table"])).await);
    let queue = json!({ "Type": "AWS::SQS::Queue" });
    let mut outputs = json!({
        "StatusQueueUrl": { "Value": { "Ref": "StatusQueue" } },
        "StatusDeadLetterQueueUrl": { "Value": { "Ref": "StatusDeadLetterQueue" } },
        "OrderChangeQueueArn": { "Value": { "Fn::GetAtt": ["OrderChangeQueue", "Arn"] } },
        "OrderChangeQueueUrl": { "Value": { "Ref": "OrderChangeQueue" } },
        "OrderChangeDeadLetterQueueUrl": { "Value": { "Ref": "OrderChangeDeadLetterQueue" } },
        "ScheduledRunFailuresQueueUrl": { "Value": { "Ref": "ScheduledRunFailuresQueue" } },
        "ImportFunctionName": { "Value": format!("{name}-import") },
        "StatusFunctionName": { "Value": format!("{name}-status") },
        "ShipmentFunctionName": { "Value": format!("{name}-shipment") },
        "HousekeepingFunctionName": { "Value": format!("{name}-housekeeping") },
        "MarketplaceSecretPrefix": { "Value": "orderbridge/" },
        "AlarmTopicArn": { "Value": "arn:aws:sns:eu-central-1:123456789012:alarms" },
        "DashboardUrl": { "Value": "https://example.invalid/dashboard" },
    });
    if with_table_output {
        outputs["OrdersTableName"] = json!({ "Value": table });
    }
    let template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "StatusQueue": queue, "StatusDeadLetterQueue": queue,
            "OrderChangeQueue": queue, "OrderChangeDeadLetterQueue": queue,
            "ScheduledRunFailuresQueue": queue,
        },
        "Outputs": outputs,
    });
    let cfn = aws_sdk_cloudformation::Client::new(&sdk().await);
    cfn.create_stack()
        .stack_name(&name)
        .template_body(template.to_string())
        .send()
        .await
        .expect("create stack");
    let described = cfn.describe_stacks().stack_name(&name).send().await.unwrap();
    let outputs = described.stacks()[0]
        .outputs()
        .iter()
        .map(|o| (o.output_key().unwrap().to_string(), o.output_value().unwrap().to_string()))
        .collect();
    TestStack { name, table, outputs }
}

async fn create_secret(name: &str, value: &str) {
    aws_sdk_secretsmanager::Client::new(&sdk().await)
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("create secret");
}

const CREDENTIALS: &str = r#"{"client_id":"cid","client_secret":"csecret","refresh_token":"rtoken"}"#;

// ------------------------------------------------------------------ a fake Notifications API

#[derive(Default)]
struct FakeAmazon {
    destinations: Vec<(String, String)>,
    subscription: Option<(String, String)>,
    next: u32,
    calls: Vec<String>,
}

type Fake = Arc<Mutex<FakeAmazon>>;

/// Login with Amazon and the Notifications API v1 subscription operations, on loopback.
async fn fake_amazon() -> (String, Fake) {
    let state: Fake = Arc::default();
    let app = Router::new()
        .route(
            "/auth/o2/token",
            post(|| async { Json(json!({ "access_token": "token", "expires_in": 3600, "token_type": "bearer" })) }),
        )
        .route(
            "/notifications/v1/destinations",
            get(|State(s): State<Fake>| async move {
                let mut s = s.lock().unwrap();
                s.calls.push("getDestinations".into());
                let payload: Vec<Value> = s
                    .destinations
                    .iter()
                    .map(|(id, arn)| json!({ "destinationId": id, "name": "d", "resource": { "sqs": { "arn": arn } } }))
                    .collect();
                Json(json!({ "payload": payload }))
            })
            .post(|State(s): State<Fake>, Json(body): Json<Value>| async move {
                let mut s = s.lock().unwrap();
                s.calls.push("createDestination".into());
                s.next += 1;
                let id = format!("dest-{}", s.next);
                let arn = body.pointer("/resourceSpecification/sqs/arn").and_then(Value::as_str).unwrap().to_string();
                s.destinations.push((id.clone(), arn));
                Json(json!({ "payload": { "destinationId": id } }))
            }),
        )
        .route(
            "/notifications/v1/subscriptions/ORDER_CHANGE",
            get(|State(s): State<Fake>| async move {
                let mut s = s.lock().unwrap();
                s.calls.push("getSubscription".into());
                match &s.subscription {
                    Some((id, destination)) => (
                        StatusCode::OK,
                        Json(json!({ "payload": { "subscriptionId": id, "destinationId": destination, "payloadVersion": "1.0" } })),
                    ),
                    None => (StatusCode::NOT_FOUND, Json(json!({ "errors": [{ "code": "NotFound", "message": "none" }] }))),
                }
            })
            .post(|State(s): State<Fake>, Json(body): Json<Value>| async move {
                let mut s = s.lock().unwrap();
                s.calls.push("createSubscription".into());
                s.next += 1;
                let id = format!("sub-{}", s.next);
                let destination = body["destinationId"].as_str().unwrap().to_string();
                s.subscription = Some((id.clone(), destination.clone()));
                Json(json!({ "payload": { "subscriptionId": id, "destinationId": destination } }))
            }),
        )
        .route(
            "/notifications/v1/subscriptions/ORDER_CHANGE/{id}",
            delete(|State(s): State<Fake>, Path(id): Path<String>| async move {
                let mut s = s.lock().unwrap();
                s.calls.push(format!("deleteSubscription {id}"));
                if s.subscription.as_ref().is_some_and(|(current, _)| *current == id) {
                    s.subscription = None;
                }
                Json(json!({}))
            }),
        )
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, state)
}

// ------------------------------------------------------------------ errors without AWS

#[test]
fn no_region_is_one_line() {
    let output = orderbridge(&["accounts", "list", "--table", "orders"], &[("AWS_ACCESS_KEY_ID", "x")]);
    assert_one_line_error(&output, &["no AWS region", "--region", "AWS_REGION"]);
    let output = orderbridge(&["--stack", "orderbridge", "doctor"], &[]);
    assert_one_line_error(&output, &["no AWS region"]);
}

#[test]
fn no_credentials_is_one_line() {
    let output = orderbridge(
        &["--table", "orders", "orders", "list", "--status", "Pending"],
        &[("AWS_REGION", "eu-central-1")],
    );
    assert_one_line_error(&output, &["no AWS credentials", "--profile"]);
}

#[test]
fn a_profile_that_does_not_exist_is_named() {
    let output = orderbridge(&["accounts", "list", "--stack", "s", "--profile", "nope"], &[]);
    assert_one_line_error(&output, &["no AWS region", "nope"]);
    let output =
        orderbridge(&["accounts", "list", "--stack", "s", "--profile", "nope", "--region", "eu-west-1"], &[]);
    assert_one_line_error(&output, &["no AWS credentials", "nope"]);
}

#[test]
fn a_missing_local_store_is_refused_not_created() {
    let dir = std::env::temp_dir().join(unique("ob-nostore"));
    let path = dir.join("store.db");
    let output =
        orderbridge(&["orders", "list", "--status", "Shipped", "--local", path.to_str().unwrap()], &[]);
    assert_one_line_error(&output, &["no local store", "local-run --store"]);
    assert!(!dir.exists(), "nothing is created");
    let output = orderbridge(&["--local", "x.db", "--stack", "s", "accounts", "list"], &[]);
    assert_one_line_error(&output, &["--local", "--stack"]);
}

#[test]
fn the_local_store_works_with_flags_anywhere() {
    let dir = std::env::temp_dir().join(unique("ob-local"));
    let store = dir.join("store.db");
    let store = store.to_str().unwrap();
    let added = assert_ok(&orderbridge(
        &[
            "accounts",
            "add",
            "amazon",
            "--local",
            store,
            "--id",
            "amazon-de",
            "--secret",
            "anything",
            "--marketplace-id",
            "A1PA6795UKMFR9",
        ],
        &[],
    ));
    assert!(added.contains("account amazon-de added (enabled)"), "{added}");
    assert!(added.contains("local store: secret not checked"), "{added}");
    assert_ok(&orderbridge(
        &["--local", store, "accounts", "update", "amazon-de", "--seller-id", "A3TH9S8BH6GOGM"],
        &[],
    ));
    assert_ok(&orderbridge(&["accounts", "--local", store, "disable", "amazon-de"], &[]));
    let listed = assert_ok(&orderbridge(&["accounts", "list", "--local", store], &[]));
    assert_eq!(listed.trim(), "amazon-de\tamazon\tdisabled\tseller A3TH9S8BH6GOGM");
    let output = orderbridge(&["accounts", "rejected", "nope", "--local", store], &[]);
    assert_one_line_error(&output, &["no account nope"]);
    let _ = std::fs::remove_dir_all(dir);
}

// ------------------------------------------------------------------ errors on moto

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_table_is_one_line() {
    let output = on_moto(args(&["accounts", "list", "--table", "no-such-table"])).await;
    assert_one_line_error(&output, &["no table no-such-table", "eu-central-1"]);
    let output = on_moto(args(&["--table", "no-such-table", "orders", "list", "--status", "pending"])).await;
    assert_one_line_error(&output, &["no table no-such-table"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_stack_is_one_line() {
    let output = on_moto(args(&["--stack", "no-such-stack", "accounts", "list"])).await;
    assert_one_line_error(&output, &["no stack no-such-stack"]);
    let output = on_moto(args(&["doctor", "--stack", "no-such-stack"])).await;
    assert_one_line_error(&output, &["no stack no-such-stack"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_without_the_output_names_it() {
    let stack = test_stack(false).await;
    let output = on_moto(args(&["--stack", &stack.name, "accounts", "list"])).await;
    assert_one_line_error(&output, &[&stack.name, "has no output OrdersTableName"]);
    // --table beats the stack; the stack still gives the rest.
    assert_ok(&on_moto(args(&["--stack", &stack.name, "--table", &stack.table, "accounts", "list"])).await);
    let output = on_moto(args(&["--stack", &stack.name, "--table", &stack.table, "doctor"])).await;
    assert_one_line_error(&output, &["checks failed"]);
    assert!(stdout(&output).contains("outputs missing: OrdersTableName"), "{}", stdout(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_add_refuses_a_missing_secret_or_one_outside_the_prefix() {
    let stack = test_stack(true).await;
    let missing = format!("orderbridge/{}", unique("missing"));
    let add = |secret: &str| {
        args(&[
            "accounts",
            "add",
            "amazon",
            "--stack",
            &stack.name,
            "--id",
            "amazon-de",
            "--secret",
            secret,
            "--marketplace-id",
            "A1PA6795UKMFR9",
            "--seller-id",
            "S1",
        ])
    };
    let output = on_moto(add(&missing)).await;
    assert_one_line_error(&output, &[&format!("no secret {missing}"), "create it first"]);

    let outside = unique("elsewhere/amazon-de");
    create_secret(&outside, CREDENTIALS).await;
    let output = on_moto(add(&outside)).await;
    assert_one_line_error(&output, &[&outside, "outside orderbridge/"]);

    // By ARN: the name it resolves to is what must lie under the prefix.
    let arn = aws_sdk_secretsmanager::Client::new(&sdk().await)
        .describe_secret()
        .secret_id(&outside)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let output = on_moto(add(&arn)).await;
    assert_one_line_error(&output, &["outside orderbridge/"]);

    let listed = assert_ok(&on_moto(args(&["--stack", &stack.name, "accounts", "list"])).await);
    assert_eq!(listed, "", "nothing was added");

    // Another prefix, given explicitly, is respected.
    let output = on_moto(args(&[
        "accounts",
        "add",
        "amazon",
        "--stack",
        &stack.name,
        "--id",
        "amazon-x",
        "--secret",
        &outside,
        "--marketplace-id",
        "A1PA6795UKMFR9",
        "--secret-prefix",
        "elsewhere/",
        "--no-subscribe",
    ]))
    .await;
    let out = assert_ok(&output);
    assert!(out.contains("not subscribed to ORDER_CHANGE (--no-subscribe)"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_queues_are_one_line() {
    let output = on_moto(args(&[
        "dead-letters",
        "list",
        "--dead-letter-queue-url",
        &format!("{}/123456789012/no-such-queue", moto_url()),
    ]))
    .await;
    assert_one_line_error(&output, &["no queue", "no-such-queue"]);
    let output = on_moto(args(&["dead-letters", "list"])).await;
    assert_one_line_error(&output, &["--stack"]);
}

// ------------------------------------------------------------------ the operator's day

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_subscribe_and_unsubscribe_and_doctor_checks_them() {
    let stack = test_stack(true).await;
    let (amazon, fake) = fake_amazon().await;
    let secret = format!("orderbridge/{}", unique("amazon-de"));
    create_secret(&secret, CREDENTIALS).await;
    let token_url = format!("{amazon}/auth/o2/token");

    // Global flags after the subcommand.
    let added = assert_ok(
        &on_moto(args(&[
            "accounts",
            "add",
            "amazon",
            "--id",
            "amazon-de",
            "--secret",
            &secret,
            "--marketplace-id",
            "A1PA6795UKMFR9",
            "--seller-id",
            "A3TH9S8BH6GOGM",
            "--api-base-url",
            &amazon,
            "--token-url",
            &token_url,
            "--stack",
            &stack.name,
        ]))
        .await,
    );
    assert!(added.contains("account amazon-de added (enabled)"), "{added}");
    assert!(added.contains(&format!("secret {secret} found under orderbridge/")), "{added}");
    assert!(added.contains("subscribed to ORDER_CHANGE notifications: subscription sub-2"), "{added}");
    {
        let fake = fake.lock().unwrap();
        assert_eq!(
            fake.destinations,
            vec![("dest-1".to_string(), stack.output("OrderChangeQueueArn").to_string())]
        );
        assert_eq!(fake.subscription.as_ref().unwrap().0, "sub-2");
    }

    // Global flags before it.
    let listed = assert_ok(&on_moto(args(&["--stack", &stack.name, "accounts", "list"])).await);
    assert_eq!(listed.trim(), "amazon-de\tamazon\tenabled\tseller A3TH9S8BH6GOGM");
    let output = on_moto(args(&[
        "--stack",
        &stack.name,
        "accounts",
        "add",
        "amazon",
        "--id",
        "amazon-de",
        "--secret",
        &secret,
        "--marketplace-id",
        "A1PA6795UKMFR9",
    ]))
    .await;
    assert_one_line_error(&output, &["account amazon-de exists already"]);

    let doctor = assert_ok(&on_moto(args(&["doctor", "--stack", &stack.name])).await);
    let lines: Vec<&str> = doctor.lines().collect();
    assert!(lines.iter().all(|l| l.starts_with("ok   ")), "{doctor}");
    for expected in [
        format!("stack {}: CREATE_COMPLETE", stack.name),
        format!("table {}: ACTIVE", stack.table),
        "status dead letters: empty".to_string(),
        "failed scheduled runs: empty".to_string(),
        format!("secret amazon-de: {secret} exists under orderbridge/"),
        "credentials amazon-de: work (sandbox); ORDER_CHANGE subscribed (sub-2)".to_string(),
    ] {
        assert!(doctor.contains(&expected), "{expected:?} not in\n{doctor}");
    }

    let disabled =
        assert_ok(&on_moto(args(&["accounts", "disable", "amazon-de", "--stack", &stack.name])).await);
    assert!(disabled.contains("ORDER_CHANGE subscription removed"), "{disabled}");
    assert!(fake.lock().unwrap().subscription.is_none());
    assert!(fake.lock().unwrap().calls.contains(&"deleteSubscription sub-2".to_string()));

    let enabled =
        assert_ok(&on_moto(args(&["--stack", &stack.name, "accounts", "enable", "amazon-de"])).await);
    assert!(enabled.contains("account amazon-de enabled"), "{enabled}");
    assert!(enabled.contains("subscribed to ORDER_CHANGE notifications: subscription sub-3"), "{enabled}");
    assert_eq!(fake.lock().unwrap().destinations.len(), 1, "the destination is reused");

    // The secret vanishes: doctor fails, naming it, and exits non-zero.
    aws_sdk_secretsmanager::Client::new(&sdk().await)
        .delete_secret()
        .secret_id(&secret)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    let output = on_moto(args(&["--stack", &stack.name, "doctor"])).await;
    assert_one_line_error(&output, &["checks failed"]);
    let doctor = stdout(&output);
    assert!(doctor.contains(&format!("FAIL secret amazon-de: no secret {secret}")), "{doctor}");
    assert!(doctor.contains("FAIL credentials amazon-de:"), "{doctor}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_and_failures_come_from_the_stack() {
    let stack = test_stack(true).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk().await);
    let send = |url: &str, body: &str| sqs.send_message().queue_url(url).message_body(body).send();
    send(
        stack.output("StatusDeadLetterQueueUrl"),
        r#"{"account_id":"amazon-de","marketplace_order_id":"302-1234567-1234567","attempt":2}"#,
    )
    .await
    .unwrap();
    send(
        stack.output("OrderChangeDeadLetterQueueUrl"),
        r#"{"NotificationType":"ORDER_CHANGE","Payload":{"OrderChangeNotification":{"SellerId":"S1","AmazonOrderId":"903-8868176-2219830","Summary":{"DestinationPostalCode":"48110"}}},"NotificationMetadata":{"NotificationId":"n-1"}}"#,
    )
    .await
    .unwrap();
    send(
        stack.output("ScheduledRunFailuresQueueUrl"),
        r#"{"version":"1.0","timestamp":"2026-11-30T10:00:00.000Z","requestContext":{"requestId":"r","functionArn":"arn:aws:lambda:eu-central-1:123456789012:function:orderbridge-import:$LATEST","condition":"RetriesExhausted","approximateInvokeCount":1},"requestPayload":{"marker":"payload-body"},"responseContext":{"statusCode":200,"functionError":"Unhandled"},"responsePayload":{"errorType":"AccountsFailed","errorMessage":"1 of 2 accounts failed: amazon-fr"}}"#,
    )
    .await
    .unwrap();

    let doctor = on_moto(args(&["--stack", &stack.name, "doctor"])).await;
    let report = assert_ok(&doctor);
    assert!(report.contains("warn status dead letters: 1 messages"), "{report}");
    assert!(report.contains("warn order-change dead letters: 1 messages"), "{report}");
    assert!(report.contains("warn failed scheduled runs: 1 messages"), "{report}");
    assert!(report.contains("warn accounts: none yet"), "{report}");

    let listed = assert_ok(&on_moto(args(&["--stack", &stack.name, "dead-letters", "list"])).await);
    assert!(listed.contains("302-1234567-1234567"), "{listed}");
    let moved = assert_ok(&on_moto(args(&["dead-letters", "redrive", "--stack", &stack.name])).await);
    assert_eq!(moved.trim(), "1 status checks sent back to the status queue");

    let listed = assert_ok(
        &on_moto(args(&["dead-letters", "list", "--queue", "order-change", "--stack", &stack.name])).await,
    );
    assert!(listed.contains("ORDER_CHANGE seller S1 order 903-8868176-2219830 notification n-1"), "{listed}");
    assert!(!listed.contains("48110"), "no buyer data: {listed}");
    let moved = assert_ok(
        &on_moto(args(&["--stack", &stack.name, "dead-letters", "--queue", "order-change", "redrive"])).await,
    );
    assert_eq!(moved.trim(), "1 order-change notifications sent back to the order-change queue");
    let back = sqs
        .receive_message()
        .queue_url(stack.output("OrderChangeQueueUrl"))
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(back.messages().len(), 1);

    let failures = assert_ok(&on_moto(args(&["--stack", &stack.name, "failures", "list"])).await);
    assert_eq!(
        failures.trim(),
        "2026-11-30T10:00:00.000Z\torderbridge-import\tRetriesExhausted\tAccountsFailed\t1 of 2 accounts failed: amazon-fr"
    );
    assert!(!failures.contains("payload-body"));
    // Listing deleted nothing; with --delete the records shown go.
    let depth = |sqs: aws_sdk_sqs::Client, url: String| async move {
        let out = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap();
        out.attributes().unwrap().values().map(|v| v.parse::<u32>().unwrap()).sum::<u32>()
    };
    let url = stack.output("ScheduledRunFailuresQueueUrl").to_string();
    assert_eq!(depth(sqs.clone(), url.clone()).await, 1, "listed, not deleted");
    send(
        &url,
        r#"{"timestamp":"2026-11-30T11:00:00.000Z","requestContext":{"functionArn":"arn:aws:lambda:eu-central-1:123456789012:function:orderbridge-shipment","condition":"EventAgeExceeded"}}"#,
    )
    .await
    .unwrap();
    let deleted = assert_ok(&on_moto(args(&["failures", "list", "--delete", "--stack", &stack.name])).await);
    let lines: Vec<&str> = deleted.lines().collect();
    assert_eq!(lines.len(), 3, "{deleted}");
    assert!(
        lines[1].starts_with("2026-11-30T11:00:00.000Z\torderbridge-shipment\tEventAgeExceeded\t-\t-"),
        "{deleted}"
    );
    assert_eq!(lines[2], "2 records deleted");
    assert_eq!(depth(sqs.clone(), url).await, 0);
}

// ------------------------------------------------------------------ SCX accounts and decisions

/// `accounts add scx … --local STORE` with the given channels.
fn add_scx(store: &str, id: &str, channels: &[&str]) -> Output {
    let mut all =
        vec!["--local", store, "accounts", "add", "scx", "--id", id, "--secret", "orderbridge/scx-otto"];
    all.extend(["--seller-id", "SELLER_1", "--api-base-url", "http://127.0.0.1:9"]);
    for channel in channels {
        all.extend(["--channel", channel]);
    }
    orderbridge(&all, &[])
}

#[test]
fn scx_accounts_are_added_listed_and_updated_on_the_local_store() {
    let dir = std::env::temp_dir().join(unique("ob-scx"));
    let store = dir.join("store.db");
    let store = store.to_str().unwrap();
    let added = assert_ok(&add_scx(store, "scx-otto", &["OTTODE", "KAUFLANDDE"]));
    assert!(added.contains("account scx-otto added (enabled)"), "{added}");
    assert!(added.contains("imports channels OTTODE,KAUFLANDDE, decisions operator"), "{added}");
    let listed = assert_ok(&orderbridge(&["accounts", "list", "--local", store], &[]));
    assert_eq!(
        listed.trim(),
        "scx-otto\tscx\tenabled\tseller SELLER_1\tchannels OTTODE,KAUFLANDDE\tdecisions operator"
    );

    let output = add_scx(store, "scx-kaufland", &["OTTODE", "OTTO"]);
    assert_one_line_error(&output, &["channel \"OTTO\"", "not an SCX channel"]);
    let output = add_scx(store, "scx-otto", &[]);
    assert_one_line_error(&output, &["account scx-otto exists already"]);

    let updated = assert_ok(&orderbridge(
        &["--local", store, "accounts", "update", "scx-otto", "--all-channels", "--decisions", "auto"],
        &[],
    ));
    assert_eq!(updated.trim(), "account scx-otto updated: all channels, decisions auto");
    let listed = assert_ok(&orderbridge(&["accounts", "list", "--local", store], &[]));
    assert_eq!(listed.trim(), "scx-otto\tscx\tenabled\tseller SELLER_1\tall channels\tdecisions auto");

    assert_ok(&orderbridge(
        &["--local", store, "accounts", "add", "amazon", "--id", "amazon-de", "--secret", "x"]
            .into_iter()
            .chain(["--marketplace-id", "A1PA6795UKMFR9"])
            .collect::<Vec<_>>(),
        &[],
    ));
    let output =
        orderbridge(&["--local", store, "accounts", "update", "amazon-de", "--channel", "OTTODE"], &[]);
    assert_one_line_error(&output, &["amazon-de", "for SCX accounts"]);
    let _ = std::fs::remove_dir_all(dir);
}

/// An SCX order waiting for the seller to accept it until `until`, stored through the store API.
async fn store_order_to_accept(store: &std::path::Path, account: &str, order: &str, until: &str) {
    use orderbridge::domain::{
        AccountId, Marketplace, MarketplaceOrder, MarketplaceOrderId, MarketplaceOrderState, OrderChange,
        OrderItemId, OrderLine, SalesOrder,
    };
    let until = chrono::DateTime::parse_from_rfc3339(until).unwrap().with_timezone(&chrono::Utc);
    let created = until - chrono::Duration::hours(24);
    let snapshot = MarketplaceOrder {
        id: MarketplaceOrderId::parse(order).unwrap(),
        sales_channel: "OTTODE".into(),
        created_at: created,
        updated_at: created,
        state: MarketplaceOrderState::Pending,
        lines: vec![OrderLine::new(OrderItemId::parse("A").unwrap(), Some("SKU-A".into()), None, None, 1)],
        currency: None,
        prices: None,
        paid_amount: None,
        customer: None,
        accept_until: Some(until),
        seller_id: None,
    };
    let order = SalesOrder::from_change(
        Marketplace::Scx,
        AccountId::parse(account).unwrap(),
        &OrderChange::from(snapshot),
        created,
    )
    .unwrap();
    let session = orderbridge_cli::commands::Session::local(store).await.unwrap();
    session.ports.orders.insert_order(&order).await.unwrap();
    session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_decisions_are_listed_and_an_unreachable_marketplace_leaves_them_open() {
    let dir = std::env::temp_dir().join(unique("ob-decisions"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("store.db");
    let store = path.to_str().unwrap().to_string();
    let run = |list: &[&str]| {
        let mut all = vec!["--local".to_string(), store.clone()];
        all.extend(args(list));
        tokio::task::spawn_blocking(move || {
            orderbridge(&all.iter().map(String::as_str).collect::<Vec<_>>(), &[])
        })
    };
    assert_ok(
        &run(&["accounts", "add", "scx", "--id", "scx-otto", "--secret", "s", "--seller-id", "S1"]
            .into_iter()
            .chain(["--api-base-url", "http://127.0.0.1:9"])
            .collect::<Vec<_>>())
        .await
        .unwrap(),
    );
    let listed = assert_ok(&run(&["decisions", "list"]).await.unwrap());
    assert_eq!(listed.trim(), "no open decisions");

    store_order_to_accept(&path, "scx-otto", "SCX-4712", "2026-12-05T12:00:00Z").await;
    store_order_to_accept(&path, "scx-otto", "SCX-4711", "2026-12-04T12:00:00Z").await;
    let listed = assert_ok(&run(&["decisions", "list", "--account", "scx-otto"]).await.unwrap());
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert_eq!(
        lines[0],
        "scx-otto\tSCX-4711\taccept-order\taccept-order\t-\trequested 2026-12-03T12:00:00+00:00\trespond until 2026-12-04T12:00:00+00:00",
        "the most urgent first"
    );
    assert!(lines[1].starts_with("scx-otto\tSCX-4712\taccept-order"), "{listed}");

    // The marketplace can't be reached (no SCX connector, nothing listening): one line, and the
    // decision stays open.
    let output = run(&["decisions", "accept", "scx-otto", "SCX-4711"]).await.unwrap();
    assert_one_line_error(&output, &["accept-order", "SCX-4711", "scx-otto", "not answered", "stays open"]);
    let listed = assert_ok(&run(&["decisions", "list"]).await.unwrap());
    assert!(listed.contains("scx-otto\tSCX-4711\taccept-order"), "{listed}");
    let output = run(&["decisions", "deny-cancellation", "scx-otto", "SCX-4711", "req-1"]).await.unwrap();
    assert_one_line_error(&output, &["req-1", "stays open"]);
    let output = run(&["decisions", "list", "--account", "nope"]).await.unwrap();
    assert_one_line_error(&output, &["no account nope"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_add_scx_checks_the_secret_and_subscribes_nothing() {
    let stack = test_stack(true).await;
    let secret = format!("orderbridge/{}", unique("scx-otto"));
    let add = |secret: &str| {
        args(&[
            "accounts",
            "add",
            "scx",
            "--stack",
            &stack.name,
            "--id",
            "scx-otto",
            "--secret",
            secret,
            "--seller-id",
            "SELLER_1",
            "--channel",
            "OTTODE",
            "--api-base-url",
            "http://127.0.0.1:9",
            "--decisions",
            "auto",
        ])
    };
    let output = on_moto(add(&secret)).await;
    assert_one_line_error(&output, &[&format!("no secret {secret}"), "create it first"]);

    create_secret(&secret, r#"{"refresh_token":"rtoken"}"#).await;
    let added = assert_ok(&on_moto(add(&secret)).await);
    assert!(added.contains("account scx-otto added (enabled)"), "{added}");
    assert!(added.contains(&format!("secret {secret} found under orderbridge/")), "{added}");
    assert!(added.contains("nothing to subscribe"), "{added}");
    let listed = assert_ok(&on_moto(args(&["--stack", &stack.name, "accounts", "list"])).await);
    assert_eq!(listed.trim(), "scx-otto\tscx\tenabled\tseller SELLER_1\tchannels OTTODE\tdecisions auto");

    // Nothing to unsubscribe or subscribe again either.
    let disabled =
        assert_ok(&on_moto(args(&["--stack", &stack.name, "accounts", "disable", "scx-otto"])).await);
    assert_eq!(disabled.trim(), "account scx-otto disabled");
    let enabled =
        assert_ok(&on_moto(args(&["--stack", &stack.name, "accounts", "enable", "scx-otto"])).await);
    assert!(enabled.contains("account scx-otto enabled"), "{enabled}");
    assert!(enabled.contains("nothing to subscribe"), "{enabled}");
}
