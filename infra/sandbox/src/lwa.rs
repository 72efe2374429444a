//! Fake Login with Amazon: refresh token -> short-lived access token.

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
use crate::model::{IssuedToken, State as SandboxState};
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

fn grant(st: &mut SandboxState, form: &Params) -> Response {
    let field = |name: &str| form.one(name).filter(|v| !v.is_empty());
    let (Some(grant_type), Some(refresh_token), Some(client_id), Some(client_secret)) =
        (field("grant_type"), field("refresh_token"), field("client_id"), field("client_secret"))
    else {
        return lwa_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The request is missing a required parameter : grant_type, refresh_token, client_id or client_secret",
            );
    };
    if grant_type != "refresh_token" {
        return lwa_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server",
        );
    }
    // Like LWA: the client is authenticated first (401), then the grant (400).
    let Some(seller) =
        st.sellers.iter().find(|s| s.client_id == client_id && s.client_secret == client_secret).cloned()
    else {
        tracing::info!("token refused: client authentication failed");
        return lwa_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed");
    };
    if seller.refresh_token != refresh_token {
        tracing::info!(seller_id = %seller.seller_id, "token refused: invalid refresh token");
        return lwa_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token",
        );
    }
    let access_token = fake::access_token(&mut st.id_rng);
    let lifetime = st.config.token_lifetime;
    st.tokens.insert(
        access_token.clone(),
        IssuedToken { seller_id: seller.seller_id.clone(), expires: Instant::now() + lifetime },
    );
    tracing::info!(seller_id = %seller.seller_id, "access token issued");
    (
        StatusCode::OK,
        Json(json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": lifetime.as_secs(),
            "refresh_token": seller.refresh_token,
        })),
    )
        .into_response()
}
