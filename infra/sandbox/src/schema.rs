//! Amazon's published models as JSON-Schema validators (feature `schema`).
//!
//! The models are Amazon's own files, vendored unmodified under `specs/amazon-sp-api/` and
//! embedded at compile time, so a clean clone validates without anything beside the repo.
//! A Swagger 2.0 model's `definitions` are JSON Schema draft 4 (plus `x-…` and `example`
//! keys, which a validator ignores); a definition is checked through the root schema
//! `{"$ref": "#/definitions/<Name>", "definitions": …}`. The order-change notification is a
//! draft-07 document of its own, checked as a whole under the name
//! [`ORDER_CHANGE_NOTIFICATION`] (its own title is just "The root schema"). Nothing is
//! fetched: a `$ref` outside the file fails.
//!
//! Two modes. [`AmazonModel::validate`] applies the model as published, where an object may
//! carry fields the model does not list (JSON Schema's default). [`AmazonModel::validate_strict`]
//! closes every object schema that lists `properties` and says nothing about
//! `additionalProperties`, so a field the model does not have fails: the mode for checking
//! a sandbox, which must not invent what Amazon never sends.
//!
//! ```
//! use orderbridge_sandbox::schema::AmazonModel;
//! use serde_json::json;
//!
//! let body = json!({ "marketplaceId": "A1PA6795UKMFR9" });
//! let errors = AmazonModel::orders_v0().validate("ConfirmShipmentRequest", &body).unwrap_err();
//! assert!(errors[0].contains("packageDetail"), "{errors:?}");
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Draft, Validator};
use serde_json::{json, Value};

/// Longest error message kept; a value quoted in a message can be megabytes long.
const MAX_MESSAGE_CHARS: usize = 400;

/// The name under which [`AmazonModel::order_change_notification`] validates its document.
pub const ORDER_CHANGE_NOTIFICATION: &str = "OrderChangeNotification";

/// One of Amazon's model files, with its compiled validators cached.
pub struct AmazonModel {
    file: &'static str,
    document: Value,
    kind: Kind,
    validators: Mutex<HashMap<(String, bool), Arc<Validator>>>,
}

enum Kind {
    /// Swagger 2.0: named draft-4 schemas under `definitions`.
    Swagger,
    /// A JSON Schema document, validated as a whole under this one name.
    Document(&'static str),
}

macro_rules! vendored {
    ($file:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/specs/amazon-sp-api/", $file))
    };
}

impl AmazonModel {
    /// Orders API 2026-01-01 (`searchOrders`, `getOrder`): `orders_2026-01-01.json`.
    pub fn orders_2026() -> &'static AmazonModel {
        static MODEL: OnceLock<AmazonModel> = OnceLock::new();
        MODEL.get_or_init(|| {
            Self::load("orders_2026-01-01.json", vendored!("orders_2026-01-01.json"), Kind::Swagger)
        })
    }

    /// Orders API v0 (`confirmShipment` and the rest): `ordersV0.json`.
    pub fn orders_v0() -> &'static AmazonModel {
        static MODEL: OnceLock<AmazonModel> = OnceLock::new();
        MODEL.get_or_init(|| Self::load("ordersV0.json", vendored!("ordersV0.json"), Kind::Swagger))
    }

    /// The `ORDER_CHANGE` notification (draft 07): `OrderChangeNotification.json`, validated
    /// under the name [`ORDER_CHANGE_NOTIFICATION`].
    pub fn order_change_notification() -> &'static AmazonModel {
        static MODEL: OnceLock<AmazonModel> = OnceLock::new();
        MODEL.get_or_init(|| {
            Self::load(
                "OrderChangeNotification.json",
                vendored!("OrderChangeNotification.json"),
                Kind::Document(ORDER_CHANGE_NOTIFICATION),
            )
        })
    }

    /// Notifications API v1 (destinations and subscriptions): `notifications.json`.
    pub fn notifications() -> &'static AmazonModel {
        static MODEL: OnceLock<AmazonModel> = OnceLock::new();
        MODEL.get_or_init(|| Self::load("notifications.json", vendored!("notifications.json"), Kind::Swagger))
    }

    fn load(file: &'static str, text: &str, kind: Kind) -> Self {
        // Embedded at compile time from the vendored copy; this crate's tests parse each.
        let document = serde_json::from_str(text).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"));
        Self { file, document, kind, validators: Mutex::new(HashMap::new()) }
    }

    /// The model's file name, e.g. `ordersV0.json`.
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The whole model as Amazon publishes it.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The names [`AmazonModel::validate`] accepts, sorted.
    pub fn definition_names(&self) -> Vec<String> {
        match self.kind {
            Kind::Swagger => {
                let mut names: Vec<String> = self
                    .document
                    .get("definitions")
                    .and_then(Value::as_object)
                    .map(|d| d.keys().cloned().collect())
                    .unwrap_or_default();
                names.sort();
                names
            }
            Kind::Document(name) => vec![name.to_string()],
        }
    }

    /// Validates `value` against the definition `name` as the model publishes it (objects
    /// open to unlisted fields). Each error names the JSON path (a JSON pointer, `/` for the
    /// whole value) of the offending part.
    pub fn validate(&self, name: &str, value: &Value) -> Result<(), Vec<String>> {
        self.check(name, value, false)
    }

    /// Like [`AmazonModel::validate`], but an object may only carry the fields its schema
    /// lists wherever the schema lists any (`additionalProperties: false` unless the model
    /// says otherwise).
    pub fn validate_strict(&self, name: &str, value: &Value) -> Result<(), Vec<String>> {
        self.check(name, value, true)
    }

    fn check(&self, name: &str, value: &Value, strict: bool) -> Result<(), Vec<String>> {
        let validator = self.validator(name, strict).map_err(|e| vec![e])?;
        let errors: Vec<String> = validator.iter_errors(value).map(|e| describe(&e)).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn validator(&self, name: &str, strict: bool) -> Result<Arc<Validator>, String> {
        let key = (name.to_string(), strict);
        // A poisoned lock only means another thread panicked mid-insert; the cache is fine.
        if let Some(v) = self.validators.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(v.clone());
        }
        let (mut root, draft) = self.root_schema(name)?;
        if strict {
            close_objects(&mut root);
        }
        let validator = jsonschema::options()
            .with_draft(draft)
            .should_validate_formats(true)
            .offline()
            .build(&root)
            .map_err(|e| format!("{}: {name} does not compile: {e}", self.file))?;
        let validator = Arc::new(validator);
        self.validators.lock().unwrap_or_else(|e| e.into_inner()).insert(key, validator.clone());
        Ok(validator)
    }

    fn root_schema(&self, name: &str) -> Result<(Value, Draft), String> {
        let unknown = || format!("{} has no definition {name}", self.file);
        match self.kind {
            Kind::Swagger => {
                let definitions = self.document.get("definitions").ok_or_else(unknown)?;
                if definitions.get(name).is_none() {
                    return Err(unknown());
                }
                let root = json!({ "$ref": format!("#/definitions/{name}"), "definitions": definitions });
                Ok((root, Draft::Draft4))
            }
            Kind::Document(own) if own == name => Ok((self.document.clone(), Draft::Draft7)),
            Kind::Document(_) => Err(unknown()),
        }
    }
}

/// `at /orders/0/buyer: …`, cut to a readable length.
fn describe(e: &jsonschema::ValidationError<'_>) -> String {
    let path = e.instance_path().as_str();
    let path = if path.is_empty() { "/" } else { path };
    let mut message = e.to_string();
    if message.chars().count() > MAX_MESSAGE_CHARS {
        message = message.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "…";
    }
    format!("at {path}: {message}")
}

/// Adds `additionalProperties: false` to every schema that lists `properties` without
/// deciding about other fields, in every place a subschema can sit.
///
/// An `allOf` is closed as a whole, not part by part: draft 4 has no
/// `unevaluatedProperties`, and each part closed on its own would refuse the fields of the
/// others (the Notifications API's `EventFilter` is such a combination). So the schema holding
/// the `allOf` gets every field of its parts listed and is closed, while the parts, inline or
/// definitions referenced from an `allOf`, stay open at their top level.
fn close_objects(schema: &mut Value) {
    let definitions = schema.get("definitions").cloned().unwrap_or(Value::Null);
    let mut parts = Vec::new();
    collect_all_of_refs(schema, &mut parts);
    close(schema, false, &definitions, &parts);
}

fn close(schema: &mut Value, all_of_part: bool, definitions: &Value, parts: &[String]) {
    let Value::Object(map) = schema else {
        return;
    };
    if !map.contains_key("additionalProperties") {
        if let Some(Value::Array(members)) = map.get("allOf") {
            let mut names = Vec::new();
            for member in members {
                property_names(member, definitions, &mut names);
            }
            let listed = map.entry("properties").or_insert_with(|| json!({}));
            if let Value::Object(listed) = listed {
                for name in names {
                    listed.entry(name).or_insert_with(|| json!({}));
                }
            }
            map.insert("additionalProperties".to_string(), Value::Bool(false));
        } else if !all_of_part && map.get("properties").is_some_and(Value::is_object) {
            map.insert("additionalProperties".to_string(), Value::Bool(false));
        }
    }
    for key in ["properties", "patternProperties"] {
        if let Some(Value::Object(children)) = map.get_mut(key) {
            children.values_mut().for_each(|c| close(c, false, definitions, parts));
        }
    }
    if let Some(Value::Object(children)) = map.get_mut("definitions") {
        for (name, child) in children.iter_mut() {
            close(child, parts.contains(name), definitions, parts);
        }
    }
    for key in ["items", "additionalItems", "additionalProperties", "not", "allOf", "anyOf", "oneOf"] {
        let part = key == "allOf";
        match map.get_mut(key) {
            Some(Value::Array(children)) => {
                children.iter_mut().for_each(|c| close(c, part, definitions, parts))
            }
            Some(child) => close(child, part, definitions, parts),
            None => {}
        }
    }
}

/// Names of the definitions an `allOf` anywhere in `schema` refers to as a part.
fn collect_all_of_refs(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Array(members)) = map.get("allOf") {
                out.extend(members.iter().filter_map(definition_ref).map(str::to_string));
            }
            map.values().for_each(|v| collect_all_of_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_all_of_refs(v, out)),
        _ => {}
    }
}

fn definition_ref(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.strip_prefix("#/definitions/")
}

/// The fields an object schema lists, following `$ref`s into `definitions` and nested
/// `allOf`s.
fn property_names(schema: &Value, definitions: &Value, out: &mut Vec<String>) {
    if let Some(name) = definition_ref(schema) {
        if let Some(target) = definitions.get(name) {
            property_names(target, definitions, out);
        }
        return;
    }
    if let Some(Value::Object(listed)) = schema.get("properties") {
        out.extend(listed.keys().cloned());
    }
    if let Some(Value::Array(members)) = schema.get("allOf") {
        members.iter().for_each(|m| property_names(m, definitions, out));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_objects_closes_nested_object_schemas_and_keeps_explicit_choices() {
        let mut schema = json!({
            "definitions": {
                "A": { "type": "object", "properties": { "b": { "$ref": "#/definitions/B" } } },
                "B": { "type": "object", "properties": { "x": {} }, "additionalProperties": true },
                "C": { "type": "array", "items": { "properties": { "y": {} } } },
                "D": { "type": "string" }
            }
        });
        close_objects(&mut schema);
        let d = &schema["definitions"];
        assert_eq!(d["A"]["additionalProperties"], false);
        assert_eq!(d["B"]["additionalProperties"], true);
        assert_eq!(d["C"]["items"]["additionalProperties"], false);
        assert!(d["D"].get("additionalProperties").is_none());
        assert!(schema.get("additionalProperties").is_none(), "no `properties` at the root");
    }

    #[test]
    fn close_objects_closes_an_all_of_as_a_whole() {
        let mut schema = json!({
            "definitions": {
                "Filter": { "allOf": [
                    { "$ref": "#/definitions/Part" },
                    { "type": "object", "properties": { "kind": {} }, "required": ["kind"] }
                ]},
                "Part": {
                    "type": "object",
                    "properties": { "ids": { "type": "object", "properties": { "x": {} } } }
                }
            }
        });
        close_objects(&mut schema);
        let d = &schema["definitions"];
        assert_eq!(d["Filter"]["additionalProperties"], false);
        assert_eq!(d["Filter"]["properties"], json!({ "ids": {}, "kind": {} }));
        assert!(d["Filter"]["allOf"][1].get("additionalProperties").is_none());
        assert!(d["Part"].get("additionalProperties").is_none(), "a part stays open");
        assert_eq!(d["Part"]["properties"]["ids"]["additionalProperties"], false, "inside it, objects close");
    }
}
