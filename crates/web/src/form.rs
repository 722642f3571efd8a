//! The public rights-request form (SPEC 5.4): no token, a plain HTML form that
//! records a request with the channel `web_form`, for the DPO to check the
//! requester's identity before anything is disclosed or changed.

use crate::State;
use crate::problem::Problem;
use axum::Router;
use axum::extract::Form;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use vigie_app::render::escape;
use vigie_app::rights::{NewRequest, Particulars, Requester};

pub fn routes() -> Router<State> {
    Router::new()
        .route("/rights", get(form).post(submit))
        .route("/rights/confirm/{token}", get(confirm_page).post(confirm))
}

const STYLE: &str = "body{font-family:sans-serif;max-width:40em;margin:2em auto;line-height:1.5}label{display:block;margin-top:1em}\
    input,select,textarea{width:100%;padding:.3em}.hp{display:none}button{margin-top:1.5em;padding:.5em 1.5em}";

async fn form(axum::extract::State(s): axum::extract::State<State>) -> Html<String> {
    let policy = s.app.policy();
    let identity = match policy.identity_check {
        vigie_domain::policy::IdentityCheck::Document => "nous vous demanderons un justificatif d'identité",
        vigie_domain::policy::IdentityCheck::OnDoubt => {
            "nous vérifierons qu'elle vient bien de vous à partir de ce que nous savons déjà (par exemple par un \
             lien de confirmation envoyé à l'adresse que nous avons pour vous), et ne vous demanderons un \
             justificatif d'identité qu'en cas de doute"
        }
    };
    Html(format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Exercer vos droits</title><style>{STYLE}</style></head><body>\
         <h1>Exercer vos droits sur vos données personnelles</h1>\
         <p>Votre demande est adressée au délégué à la protection des données de {}. Elle doit venir de vous seul ; \
         avant de vous répondre, dans un délai d'un mois, {identity}.</p>\
         <form method=\"post\" action=\"/rights\">\
         <label for=\"kind\">Votre demande</label><select id=\"kind\" name=\"kind\" required>\
         <option value=\"access\">Accéder à mes données et en obtenir une copie</option>\
         <option value=\"rectification\">Faire rectifier mes données</option>\
         <option value=\"erasure\">Faire effacer mes données</option>\
         <option value=\"portability\">Recevoir mes données dans un format réutilisable</option>\
         <option value=\"objection\">M'opposer à la prospection commerciale</option></select>\
         <label for=\"first_name\">Prénom</label><input id=\"first_name\" name=\"first_name\" autocomplete=\"given-name\">\
         <label for=\"last_name\">Nom</label><input id=\"last_name\" name=\"last_name\" autocomplete=\"family-name\" required>\
         <label for=\"email\">Adresse électronique</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required>\
         <label for=\"message\">Précisions (facultatif)</label><textarea id=\"message\" name=\"message\" rows=\"4\"></textarea>\
         <label class=\"hp\" for=\"website\">Ne pas remplir</label><input class=\"hp\" id=\"website\" name=\"website\" tabindex=\"-1\" autocomplete=\"off\">\
         <button type=\"submit\">Envoyer ma demande</button></form>\
         <p>Vous pouvez aussi écrire à {} ou à {}. <a href=\"/privacy\">Notre politique de protection des données</a>.</p>\
         </body></html>",
        escape(&policy.controller.name),
        escape(&policy.dpo.email),
        escape(&policy.dpo.address)
    ))
}

/// The client's address, when the server knows it (it always does when serving connections).
pub(crate) struct Peer(pub(crate) Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let info = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(Peer(info.map(|c| c.0.ip())))
    }
}

#[derive(Deserialize)]
struct Submission {
    kind: String,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    message: Option<String>,
    /// A field people do not see: filled in, the submission is a robot's.
    website: Option<String>,
}

async fn submit(
    axum::extract::State(s): axum::extract::State<State>,
    Peer(peer): Peer,
    form: Result<Form<Submission>, axum::extract::rejection::FormRejection>,
) -> Response {
    // A flood from one address is turned away before anything is read or written.
    if let Err(p) = s.form_limiter.check(peer) {
        return p.into_response();
    }
    let Ok(Form(f)) = form else {
        return Problem::invalid("form", "the form could not be read").into_response();
    };
    if f.website.as_deref().is_some_and(|w| !w.is_empty()) {
        return (StatusCode::BAD_REQUEST, Html("<p>Demande refusée.</p>".to_string())).into_response();
    }
    let blank = |v: Option<String>| v.filter(|x| !x.trim().is_empty());
    let input = NewRequest {
        kind: f.kind,
        received_at: s.app.now().date_naive().to_string(),
        channel: "web_form".into(),
        requester: Requester {
            first_name: blank(f.first_name),
            last_name: blank(f.last_name),
            email: blank(f.email),
            ..Requester::default()
        },
        particulars: Particulars { message: blank(f.message), ..Particulars::default() },
        language: None,
    };
    match s.app.create_request_from_form(input).await {
        Ok(r) => Html(format!(
            "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Demande reçue</title><style>{STYLE}</style></head><body>\
             <h1>Votre demande a bien été reçue</h1><p>Référence : <code>{}</code>. Nous vous répondrons au plus tard le {}, \
             après avoir vérifié votre identité.</p></body></html>",
            r.id, r.due_on
        ))
        .into_response(),
        Err(e) => crate::problem::ApiError::from(e).into_response(),
    }
}

/// A one-time identity confirmation link, as opened: a page with a button; nothing changes (mail
/// scanners follow links). Rate-limited like the form.
async fn confirm_page(
    axum::extract::State(s): axum::extract::State<State>,
    Peer(peer): Peer,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    if let Err(p) = s.confirm_limiter.check(peer) {
        return p.into_response();
    }
    link_page(s.app.confirmation_page(&token).await)
}

/// The button of a confirmation link's page: confirms the requester's identity.
async fn confirm(
    axum::extract::State(s): axum::extract::State<State>,
    Peer(peer): Peer,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    if let Err(p) = s.confirm_limiter.check(peer) {
        return p.into_response();
    }
    link_page(s.app.confirm_identity(&token).await)
}

fn link_page(p: vigie_app::rights::confirmation::LinkPage) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let lang = axum::http::HeaderValue::from_static(p.lang);
    (status, [(axum::http::header::CONTENT_LANGUAGE, lang)], Html(p.html)).into_response()
}
