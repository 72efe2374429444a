//! The `schema` module: Amazon's vendored models as validators, used the way another
//! crate's tests use them.

mod common;

use common::{check_against_amazon, lagless, Harness};
use orderbridge_sandbox::schema::{AmazonModel, ORDER_CHANGE_NOTIFICATION};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// `(where, definition, body)` of every response example in a model's paths: the
/// documented `examples` and the bodies of Amazon's own sandbox (`x-amzn-api-sandbox`).
fn response_examples(model: &AmazonModel) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, operations) in model.document()["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            // Path-level flags such as `x-amzn-api-sandbox-only` are no operations.
            let Some(responses) = operation["responses"].as_object() else {
                continue;
            };
            for (status, response) in responses {
                let Some(definition) = response["schema"]["$ref"].as_str() else {
                    continue;
                };
                let definition = definition.trim_start_matches("#/definitions/").to_string();
                let place = format!("{method} {path} {status}");
                if let Some(example) = response["examples"].get("application/json") {
                    out.push((place.clone(), definition.clone(), example.clone()));
                }
                for kind in ["static", "dynamic"] {
                    for case in response["x-amzn-api-sandbox"][kind].as_array().into_iter().flatten() {
                        out.push((place.clone(), definition.clone(), case["response"].clone()));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn amazons_own_orders_examples_pass_its_model_even_in_strict_mode() {
    let model = AmazonModel::orders_2026();
    let examples = response_examples(model);
    assert!(examples.len() >= 10, "{}", examples.len());
    for (place, definition, body) in examples {
        model.validate_strict(&definition, &body).unwrap_or_else(|e| panic!("{place}: {e:?}"));
    }
    let notification = AmazonModel::order_change_notification();
    for example in notification.document()["examples"].as_array().unwrap() {
        notification.validate_strict(ORDER_CHANGE_NOTIFICATION, example).unwrap();
    }
}

#[test]
fn amazons_own_notifications_examples_pass_its_model_even_in_strict_mode() {
    let model = AmazonModel::notifications();
    let examples = response_examples(model);
    assert!(examples.len() >= 9, "{}", examples.len());
    for (place, definition, body) in examples {
        model.validate_strict(&definition, &body).unwrap_or_else(|e| panic!("{place}: {e:?}"));
    }
}

#[test]
fn strict_mode_takes_an_event_filter_as_the_sum_of_its_parts() {
    let model = AmazonModel::notifications();
    let mut directive = json!({ "eventFilter": {
        "eventFilterType": "ORDER_CHANGE",
        "marketplaceIds": ["A1PA6795UKMFR9"],
        "orderChangeTypes": ["OrderStatusChange"]
    }});
    model.validate_strict("ProcessingDirective", &directive).unwrap();
    directive["eventFilter"]["orderChangeTypes"] = json!(["SomethingElse"]);
    assert!(model.validate_strict("ProcessingDirective", &directive).is_err(), "parts still apply");
    directive["eventFilter"]["orderChangeTypes"] = json!(["OrderStatusChange"]);
    directive["eventFilter"]["invented"] = json!(true);
    let errors = model.validate_strict("ProcessingDirective", &directive).unwrap_err();
    assert!(errors.iter().any(|e| e.contains("invented")), "{errors:?}");
}

#[test]
fn amazons_confirm_shipment_examples_pass_except_the_one_meant_to_fail() {
    let v0 = AmazonModel::orders_v0();
    let operation = &v0.document()["paths"]["/orders/v0/orders/{orderId}/shipmentConfirmation"]["post"];
    let request = |status: &str| {
        operation["responses"][status]["x-amzn-api-sandbox"]["static"][0]["request"]["parameters"]["body"]
            ["value"]
            .clone()
    };
    v0.validate_strict("ConfirmShipmentRequest", &request("204")).unwrap();
    // Amazon's example of a request answered 400 has a `shipDate` that is no date-time.
    let errors = v0.validate("ConfirmShipmentRequest", &request("400")).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("at /packageDetail/shipDate:"), "{errors:?}");
    // Only confirmShipment's: other v0 examples (getOrderItemsBuyerInfo's) break even the
    // lenient model, and the sandbox does not serve those operations.
    let confirm_examples: Vec<_> = response_examples(v0)
        .into_iter()
        .filter(|(place, _, _)| place.ends_with("/shipmentConfirmation 400"))
        .collect();
    assert!(!confirm_examples.is_empty());
    for (place, definition, body) in confirm_examples {
        v0.validate_strict(&definition, &body).unwrap_or_else(|e| panic!("{place}: {e:?}"));
    }
}

fn valid_confirmation() -> Value {
    json!({
        "marketplaceId": "A1PA6795UKMFR9",
        "codCollectionMethod": "DirectPayment",
        "packageDetail": {
            "packageReferenceId": "1",
            "carrierCode": "Other",
            "carrierName": "Hermes",
            "trackingNumber": "H1234",
            "shipDate": "2026-01-15T10:00:00Z",
            "orderItems": [{ "orderItemId": "12345678901234", "quantity": 1, "transparencyCodes": ["AZ1"] }],
        }
    })
}

#[test]
fn invalid_confirm_shipment_request_is_caught_by_the_validator() {
    let v0 = AmazonModel::orders_v0();
    v0.validate_strict("ConfirmShipmentRequest", &valid_confirmation()).unwrap();
    type Break = fn(&mut Value);
    let cases: [(&str, Break); 7] = [
        ("/packageDetail", |v| {
            v["packageDetail"].as_object_mut().unwrap().remove("trackingNumber");
        }),
        ("/", |v| {
            v.as_object_mut().unwrap().remove("marketplaceId");
        }),
        ("/packageDetail/packageReferenceId", |v| v["packageDetail"]["packageReferenceId"] = json!(1)),
        ("/packageDetail/orderItems/0/quantity", |v| {
            v["packageDetail"]["orderItems"][0]["quantity"] = json!("1")
        }),
        ("/packageDetail/shipDate", |v| v["packageDetail"]["shipDate"] = json!("15.01.2026")),
        ("/codCollectionMethod", |v| v["codCollectionMethod"] = json!("Cash")),
        ("/packageDetail/orderItems", |v| v["packageDetail"]["orderItems"] = json!({})),
    ];
    for (path, break_it) in cases {
        let mut body = valid_confirmation();
        break_it(&mut body);
        let errors = v0.validate("ConfirmShipmentRequest", &body).unwrap_err();
        assert!(errors.iter().any(|e| e.starts_with(&format!("at {path}:"))), "{path}: {errors:?}");
    }
}

#[test]
fn strict_mode_refuses_fields_the_model_does_not_have() {
    let model = AmazonModel::orders_2026();
    let mut order = json!({
        "orderId": "302-1234567-1234567",
        "createdTime": "2026-01-01T10:00:00.000Z",
        "lastUpdatedTime": "2026-01-01T10:00:00.000Z",
        "salesChannel": { "channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9" },
        "orderItems": [{ "orderItemId": "1", "quantityOrdered": 1, "product": { "sellerSku": "S" } }],
    });
    model.validate_strict("Order", &order).unwrap();
    order["orderItems"][0]["product"]["unitPriceCents"] = json!(1999);
    model.validate("Order", &order).unwrap();
    let errors = model.validate_strict("Order", &order).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("at /orderItems/0/product:"), "{errors:?}");
    assert!(errors[0].contains("unitPriceCents"), "{errors:?}");
}

#[test]
fn every_definition_of_every_model_compiles() {
    let models = [
        AmazonModel::orders_2026(),
        AmazonModel::orders_v0(),
        AmazonModel::order_change_notification(),
        AmazonModel::notifications(),
    ];
    for model in models {
        let names = model.definition_names();
        assert!(!names.is_empty(), "{}", model.file());
        for name in names {
            for result in [model.validate(&name, &Value::Null), model.validate_strict(&name, &Value::Null)] {
                if let Err(errors) = result {
                    assert!(!errors[0].contains("does not compile"), "{}: {errors:?}", model.file());
                }
            }
        }
    }
}

#[test]
fn unknown_definitions_are_reported_not_ignored() {
    let errors = AmazonModel::orders_2026().validate("ConfirmShipmentRequest", &json!({})).unwrap_err();
    assert_eq!(errors, vec!["orders_2026-01-01.json has no definition ConfirmShipmentRequest".to_string()]);
    assert!(AmazonModel::order_change_notification().validate("Order", &json!({})).is_err());
}

#[tokio::test]
#[should_panic(expected = "breaks SearchOrdersResponse of orders_2026-01-01.json")]
async fn the_harness_fails_a_test_whose_response_breaks_the_model() {
    let h = Harness::new(lagless()).await;
    let invented = json!({ "orders": [], "pagination": { "nextToken": "t", "hasMore": true } });
    check_against_amazon(&h.sandbox, &Method::GET, "/orders/2026-01-01/orders", StatusCode::OK, &invented);
}
