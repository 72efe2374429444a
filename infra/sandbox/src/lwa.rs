//! Fake Login with Amazon: refresh token -> short-lived access token for a seller, and
//! client credentials with the Notifications API scope -> grantless access token.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::api::{set_header, Outcome};
use crate::codec::Params;
use crate::fake;
use crate::fault::{self, Endpoint};
use crate::model::{Grant, IssuedToken, SellerCredentials, State as SandboxState};
use crate::server::ConnectionReset;
use crate::Sandbox;

fn lwa_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({ "error": error, "error_description": description }))).into_response()
}

pub(crate) async fn token(
    State(sb): State<Sandbox>,
    conn: Option<Extension<ConnectionReset>>,
    body: Bytes,
) -> Response {
    let form = Params::parse(Some(&String::from_utf8_lossy(&body)));
    let outcome = process(&mut sb.state(), &form);
    outcome.send(conn).await
}

fn process(st: &mut SandboxState, form: &Params) -> Outcome {
    st.count("token");
    let request_id = fake::request_id(&mut st.id_rng);
    let decision = st.faults.decide(Endpoint::Token);
    let (fault, mut response) = match decision.fault {
        // No usage plan on LWA, hence no x-amzn-RateLimit-Limit when throttled.
        Some(f) if f.before_processing() => match fault::refusal(f, None) {
            Some(response) => (None, response),
            None => return Outcome::Reset,
        },
        fault => (fault, grant(st, form)),
    };
    set_header(&mut response, "x-amzn-requestid", &request_id);
    Outcome::Respond(fault, response)
}

/// The scope of grantless Notifications API calls; the only one the sandbox grants.
const NOTIFICATIONS_SCOPE: &str = "sellingpartnerapi::notifications";

fn grant(st: &mut SandboxState, form: &Params) -> Response {
    let field = |name: &str| form.one(name).filter(|v| !v.is_empty());
    match field("grant_type") {
        Some("refresh_token") => refresh_grant(st, form),
        Some("client_credentials") => client_credentials_grant(st, form),
        Some(_) => lwa_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server",
        ),
        None => lwa_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is missing a required parameter : grant_type",
        ),
    }
}

/// The seller whose application the client credentials are. Like LWA, the client is
/// authenticated first (401, [`invalid_client`]), then the grant (400).
fn client(st: &SandboxState, client_id: &str, client_secret: &str) -> Option<SellerCredentials> {
    st.sellers.iter().find(|s| s.client_id == client_id && s.client_secret == client_secret).cloned()
}

fn invalid_client() -> Response {
    tracing::info!("token refused: client authentication failed");
    lwa_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed")
}

fn issue(st: &mut SandboxState, seller: &SellerCredentials, grant: Grant) -> (String, u64) {
    let access_token = match grant {
        Grant::Seller => fake::access_token(&mut st.id_rng),
        Grant::Grantless => fake::grantless_access_token(&mut st.id_rng),
    };
    let lifetime = st.config.token_lifetime;
    st.tokens.insert(
        access_token.clone(),
        IssuedToken { seller_id: seller.seller_id.clone(), expires: Instant::now() + lifetime, grant },
    );
    (access_token, lifetime.as_secs())
}

/// `grant_type=refresh_token`: a token to act for the seller who granted the refresh token.
fn refresh_grant(st: &mut SandboxState, form: &Params) -> Response {
    let field = |name: &str| form.one(name).filter(|v| !v.is_empty());
    let (Some(refresh_token), Some(client_id), Some(client_secret)) =
        (field("refresh_token"), field("client_id"), field("client_secret"))
    else {
        return lwa_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is missing a required parameter : refresh_token, client_id or client_secret",
        );
    };
    let Some(seller) = client(st, client_id, client_secret) else {
        return invalid_client();
    };
    if seller.refresh_token != refresh_token {
        tracing::info!(seller_id = %seller.seller_id, "token refused: invalid refresh token");
        return lwa_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token",
        );
    }
    let (access_token, expires_in) = issue(st, &seller, Grant::Seller);
    tracing::info!(seller_id = %seller.seller_id, "access token issued");
    (
        StatusCode::OK,
        Json(json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": expires_in,
            "refresh_token": seller.refresh_token,
        })),
    )
        .into_response()
}

/// `grant_type=client_credentials` with a `scope`: a grantless token for the application
/// itself, for the Notifications API's grantless operations. There is no refresh token
/// to return.
fn client_credentials_grant(st: &mut SandboxState, form: &Params) -> Response {
    let field = |name: &str| form.one(name).filter(|v| !v.is_empty());
    let (Some(scope), Some(client_id), Some(client_secret)) =
        (field("scope"), field("client_id"), field("client_secret"))
    else {
        return lwa_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is missing a required parameter : scope, client_id or client_secret",
        );
    };
    let Some(seller) = client(st, client_id, client_secret) else {
        return invalid_client();
    };
    // LWA takes space-separated scopes; the sandbox knows only the Notifications API's.
    if scope.split_whitespace().any(|s| s != NOTIFICATIONS_SCOPE) {
        tracing::info!(seller_id = %seller.seller_id, "token refused: unknown scope");
        return lwa_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The request has an invalid parameter : scope",
        );
    }
    let (access_token, expires_in) = issue(st, &seller, Grant::Grantless);
    tracing::info!(seller_id = %seller.seller_id, "grantless access token issued");
    (
        StatusCode::OK,
        Json(json!({
            "access_token": access_token,
            "scope": NOTIFICATIONS_SCOPE,
            "token_type": "bearer",
            "expires_in": expires_in,
        })),
    )
        .into_response()
}
