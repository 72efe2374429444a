//! Buyer data out of what we keep for diagnosis. A rejected order's raw JSON is stored for the
//! operator; before that, every value under a key that can hold personal data is replaced, so the
//! excerpt keeps the order's shape and business fields but no name, address, e-mail or phone.

use serde_json::Value;

/// Placeholder for a removed value.
pub const REDACTED: &str = "<redacted>";

/// Parts of key names that mark personal data in marketplace payloads (Amazon `buyerName`,
/// `deliveryAddress`, `phone`; SCX/OTTO `firstName`, `street`, `zipCode`, …). Matching is
/// case-insensitive on the key; a false positive only hides a harmless value.
const PERSONAL_KEY_PARTS: &[&str] = &[
    "buyer",
    "recipient",
    "name",
    "email",
    "mail",
    "phone",
    "address",
    "street",
    "city",
    "postal",
    "zip",
    "company",
    "house",
    "district",
    "county",
    "state",
    "region",
    "vat",
    "tax_id",
    "taxid",
];

fn is_personal(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    PERSONAL_KEY_PARTS.iter().any(|part| key.contains(part))
}

/// A copy of `value` with every value under a personal key replaced by [`REDACTED`].
pub fn redact_personal_data(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| {
                    let v = if is_personal(key) {
                        Value::String(REDACTED.into())
                    } else {
                        redact_personal_data(v)
                    };
                    (key.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_personal_data).collect()),
        other => other.clone(),
    }
}

/// The start of `raw` with personal data redacted, at most `max_chars` characters.
pub fn redacted_excerpt(raw: &Value, max_chars: usize) -> String {
    redact_personal_data(raw).to_string().chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn buyer_fields_are_redacted_and_business_fields_kept() {
        let raw = json!({
            "orderId": "302-1",
            "fulfillment": {"fulfillmentStatus": "UNSHIPPED"},
            "buyer": {"buyerName": "Erika Muster", "buyerEmail": "erika@example.invalid"},
            "recipient": {"deliveryAddress": {"name": "Erika Muster", "addressLine1": "Weg 1", "city": "Berlin", "phone": "+49 30 1"}},
            "shippingAddress": {"firstName": "Erika", "street": "Weg", "zipCode": "10115"},
            "orderItems": [{"orderItemId": "1", "quantityOrdered": 2, "product": {"sellerSku": "SKU-1"}}]
        });
        let excerpt = redacted_excerpt(&raw, 10_000);
        for secret in ["Erika", "Muster", "erika@", "Weg 1", "Berlin", "+49", "10115"] {
            assert!(!excerpt.contains(secret), "{secret} left in {excerpt}");
        }
        for kept in ["302-1", "UNSHIPPED", "SKU-1", "quantityOrdered"] {
            assert!(excerpt.contains(kept), "{kept} missing from {excerpt}");
        }
    }

    #[test]
    fn excerpts_are_cut_to_the_limit() {
        let raw = json!({"orderId": "x".repeat(5000)});
        assert_eq!(redacted_excerpt(&raw, 2000).chars().count(), 2000);
    }
}
