//! Faults the pipeline must survive: the store throttling or failing after a write went through,
//! concurrent runs, time running out, a failing marketplace, malformed orders, expiring tokens,
//! poison messages. The guarantees every marketplace shares run once per marketplace
//! (`amazon::…`, `scx::…`); the status queue's are proven on Amazon, whose order query the
//! status function polls.

use orderbridge::domain::{Marketplace, OrderStatus};
use orderbridge::ports::StatusCheck;
use orderbridge::Deadline;
use orderbridge_sandbox::FaultConfig;
use orderbridge_sandbox::NewOrder;
use orderbridge_tests::fault_proxy::{FaultProxy, ProxyFaults};
use orderbridge_tests::{
    for_each_marketplace, item, moto_url, scheduled_event, unique, Pipeline, PipelineOptions,
};
use std::time::Duration;

for_each_marketplace!(
    store_throttling_and_lost_answers_lose_and_double_nothing,
    two_import_runs_at_once_store_each_order_once,
    an_import_close_to_its_timeout_stops_and_the_next_run_continues,
    marketplace_faults_are_retried_and_malformed_orders_are_recorded_for_the_operator,
    an_access_token_that_expires_mid_run_is_renewed,
);

async fn stored_ids(p: &Pipeline) -> Vec<String> {
    let mut ids = Vec::new();
    for status in OrderStatus::ALL {
        for order in orderbridge_cli::local_run::all_orders(&p.ports, status).await.unwrap() {
            ids.push(order.key.marketplace_order_id.to_string());
        }
    }
    ids.sort();
    ids
}

async fn store_throttling_and_lost_answers_lose_and_double_nothing(m: Marketplace) {
    let proxy = FaultProxy::start(&moto_url(), ProxyFaults::none()).await;
    let p = Pipeline::on_moto_with(
        m,
        PipelineOptions { aws_endpoint: Some(proxy.endpoint_url.clone()), ..Default::default() },
    )
    .await;
    let mut expected: Vec<String> = (0..24)
        .map(|i| {
            let order = if i % 2 == 0 {
                NewOrder::pending(vec![item("A", 1, 100)])
            } else {
                NewOrder::released(vec![item("B", 1, 100)])
            };
            p.place(order)
        })
        .collect();
    expected.sort();

    // 15% of store/queue calls fail before, 5% after they were applied.
    proxy.set_faults(ProxyFaults { seed: 41, before_percent: 15, after_percent: 5 });
    p.import_until_caught_up(50).await;
    proxy.set_faults(ProxyFaults::none());
    assert!(proxy.counts().values().sum::<u64>() > 0, "faults were injected: {:?}", proxy.counts());
    assert_eq!(stored_ids(&p).await, expected, "each order stored exactly once");
    for id in &expected {
        assert_eq!(Some(p.order(id).await.status()), p.status_at_marketplace(id), "{id}");
    }
    let pending_checks: std::collections::BTreeSet<String> = p
        .status_messages()
        .await
        .iter()
        .map(|m| {
            serde_json::from_str::<StatusCheck>(m.body.as_deref().unwrap())
                .unwrap()
                .marketplace_order_id
                .to_string()
        })
        .collect();
    // A marketplace with an order query gets a status check for every Pending order; SCX's
    // feed brings the release instead.
    for id in expected.iter().filter(|id| p.status_at_marketplace(id) == Some(OrderStatus::Pending)) {
        assert_eq!(
            pending_checks.contains(id),
            m == Marketplace::Amazon,
            "pending order {id}: {pending_checks:?}"
        );
    }
}

async fn two_import_runs_at_once_store_each_order_once(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    let mut expected: Vec<String> =
        (0..150).map(|_| p.place(NewOrder::pending(vec![item("A", 1, 100)]))).collect();
    expected.sort();
    let (a, b) = tokio::join!(p.import(), p.import());
    a.unwrap();
    b.unwrap();
    p.import().await.unwrap();
    assert_eq!(stored_ids(&p).await, expected);
    for id in &expected {
        assert_eq!(p.order(id).await.version, 1, "order {id} was written once");
    }
    assert!(p.nothing_left_to_deliver());
}

async fn an_import_close_to_its_timeout_stops_and_the_next_run_continues(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    for _ in 0..5 {
        p.place(NewOrder::released(vec![item("A", 1, 100)]));
    }
    // Less time left than the safety margin: no new work is taken.
    let almost_over = Deadline::after(Deadline::SAFETY_MARGIN / 2);
    let report = orderbridge::handlers::import::handle(&p.ports, scheduled_event(), almost_over).await;
    let report = report.expect_err("an account that was not imported is reported");
    assert!(report.to_string().contains("time ran out"), "{report}");
    assert_eq!(p.change_requests(), 0);
    let next = p.import().await.unwrap();
    assert_eq!(next.accounts[0].created_deliverable, 5);
}

async fn marketplace_faults_are_retried_and_malformed_orders_are_recorded_for_the_operator(m: Marketplace) {
    let mut options = PipelineOptions { request_timeout: Duration::from_millis(2500), ..Default::default() };
    options.sandbox.faults = FaultConfig {
        malformed_order_percent: 20,
        duplicate_across_pages_percent: 30,
        expire_token_percent: 10,
        ..FaultConfig::uniform(7, 4)
    };
    let p = Pipeline::on_moto_with(m, options).await;
    let created: Vec<String> = (0..60)
        .map(|i| {
            let order = if i % 2 == 0 {
                NewOrder::pending(vec![item("A", 1, 100)])
            } else {
                NewOrder::released(vec![item("B", 2, 250)])
            };
            p.place(order)
        })
        .collect();
    let malformed = p.rejectable_order_ids();
    assert!(!malformed.is_empty(), "the sandbox made some orders malformed");

    p.import_until_caught_up(30).await;
    let counts = p.sandbox.fault_counts();
    assert!(counts.keys().any(|k| !k.starts_with("orders/")), "faults were injected: {counts:?}");

    let mut expected: Vec<String> = created.iter().filter(|id| !malformed.contains(id)).cloned().collect();
    expected.sort();
    assert_eq!(stored_ids(&p).await, expected, "every good order stored exactly once, no malformed one");

    let rejected = p.ports.orders.rejections(&p.account, false).await.unwrap();
    let mut rejected_ids: Vec<String> =
        rejected.iter().filter_map(|r| r.marketplace_order_id.clone()).collect();
    rejected_ids.sort();
    let mut malformed_sorted = malformed.clone();
    malformed_sorted.sort();
    assert_eq!(rejected_ids, malformed_sorted, "each malformed order is recorded for the operator");
    for r in &rejected {
        assert!(r.reason.contains("field "), "the reason names the field: {}", r.reason);
        assert!(!r.raw_excerpt.is_empty() && r.raw_excerpt.len() <= 8_000, "a bounded raw excerpt is kept");
    }
}

async fn an_access_token_that_expires_mid_run_is_renewed(m: Marketplace) {
    let mut options = PipelineOptions::default();
    options.sandbox.faults.seed = 3;
    options.sandbox.faults.expire_token_percent = 30;
    let p = Pipeline::on_moto_with(m, options).await;
    let ids: Vec<String> = (0..12).map(|_| p.place(NewOrder::pending(vec![item("A", 1, 100)]))).collect();
    p.import().await.unwrap();
    for id in &ids {
        p.release(id);
    }
    p.sync().await;
    for id in &ids {
        assert_eq!(p.order(id).await.status(), OrderStatus::Deliverable, "{id}");
    }
    assert!(p.token_requests() > 1, "the client fetched a new token after the old one was refused");
    assert!(p.sandbox.fault_counts().keys().any(|k| k.ends_with("/expired_token")));
}

// The status queue, on Amazon.

#[tokio::test]
async fn a_status_batch_close_to_its_timeout_sends_unstarted_checks_on_without_using_a_receive() {
    let p = Pipeline::on_moto(Marketplace::Amazon).await;
    let id = p.place(NewOrder::pending(vec![item("A", 1, 100)]));
    p.import().await.unwrap();
    let messages = p.status_messages().await;
    p.sandbox.release_payment(&id);
    let response = orderbridge::handlers::status::handle(
        &p.ports,
        orderbridge_tests::sqs_event(messages),
        Deadline::after(Duration::from_millis(10)),
    )
    .await;
    assert!(response.batch_item_failures.is_empty(), "not failed: a failure would use up a receive");
    assert_eq!(p.sandbox.request_count("getOrder"), 0, "not started");
    assert_eq!(p.order(&id).await.status(), OrderStatus::Pending);
    let sent_on = p.status_messages().await;
    assert_eq!(sent_on.len(), 1, "sent on to the status queue instead");
    let check: orderbridge::ports::StatusCheck =
        serde_json::from_str(sent_on[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(check.hops, 1, "counted, so no chain goes on forever");
    p.run_status(sent_on).await;
    assert_eq!(p.order(&id).await.status(), OrderStatus::Deliverable);
}

#[tokio::test]
async fn a_batch_whose_every_check_fails_fails_the_invocation() {
    let p = Pipeline::on_moto(Marketplace::Amazon).await;
    let ids: Vec<String> =
        (0..3).map(|i| p.place(NewOrder::pending(vec![item(&format!("A{i}"), 1, 100)]))).collect();
    p.import().await.unwrap();
    let messages = p.status_messages().await;
    assert_eq!(messages.len(), ids.len());
    // The marketplace is down: every getOrder answers 500.
    p.sandbox.set_faults(orderbridge_sandbox::FaultConfig {
        get_order: orderbridge_sandbox::EndpointFaults {
            server_error_percent: 100,
            ..orderbridge_sandbox::EndpointFaults::none()
        },
        ..orderbridge_sandbox::FaultConfig::none()
    });
    let event = serde_json::to_value(orderbridge_tests::sqs_event(messages.clone())).unwrap();
    let outcome = orderbridge::handlers::status::handle_payload(
        &p.ports,
        event,
        Deadline::after(Duration::from_secs(8)),
    )
    .await;
    let error = outcome.expect_err("an outage must show as a function error");
    assert_eq!(error.error_type(), "BatchFailed");

    // With the marketplace back, one failing message among good ones fails only itself.
    p.sandbox.set_faults(orderbridge_sandbox::FaultConfig::none());
    let mut mixed = messages;
    mixed.push(orderbridge_tests::message_with_body("poison", "not a status check"));
    let event = serde_json::to_value(orderbridge_tests::sqs_event(mixed)).unwrap();
    let response =
        orderbridge::handlers::status::handle_payload(&p.ports, event, Deadline::unlimited()).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(response.batch_item_failures[0].item_identifier, "poison");
}

#[tokio::test]
async fn a_poison_status_message_reaches_the_dead_letter_queue_and_redrive_is_safe_to_repeat() {
    let p = Pipeline::on_moto(Marketplace::Amazon).await;
    let (dlq_url, dlq_arn) = orderbridge_tests::create_queue(&p.sqs, "status-dlq").await;
    let queue_url = p
        .sqs
        .create_queue()
        .queue_name(unique("status"))
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    p.sqs.send_message().queue_url(&queue_url).message_body("not a status check").send().await.unwrap();

    // Lambda's event source: receive, run the handler, leave failed messages for the next receive.
    for _ in 0..4 {
        let out = p.sqs.receive_message().queue_url(&queue_url).visibility_timeout(0).send().await.unwrap();
        for m in out.messages.unwrap_or_default() {
            let event =
                serde_json::to_value(orderbridge_tests::sqs_event(vec![orderbridge_tests::lambda_message(
                    &m,
                )]))
                .unwrap();
            let outcome =
                orderbridge::handlers::status::handle_payload(&p.ports, event, Deadline::unlimited()).await;
            assert!(outcome.is_err(), "a poison message always fails, and alone it fails its batch");
        }
    }
    let letters = orderbridge_cli::commands::dead_letters(&queue_url, &dlq_url, Some(&moto_url())).await;
    let listed = letters.list(10, Duration::ZERO).await.unwrap();
    assert_eq!(listed.len(), 1, "the operator sees the poison message");
    assert_eq!(listed[0].body, "not a status check");

    assert_eq!(letters.redrive(10).await.unwrap(), 1);
    assert_eq!(letters.redrive(10).await.unwrap(), 0, "redrive again moves nothing twice");
    let back = p.sqs.receive_message().queue_url(&queue_url).max_number_of_messages(10).send().await.unwrap();
    assert_eq!(back.messages.unwrap_or_default().len(), 1, "exactly one copy is back on the status queue");
}
