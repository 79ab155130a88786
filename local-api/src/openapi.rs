//! Our own OpenAPI document, served at `GET /openapi.json`: every route that is not Nexconn's
//! (`/console/v1/*`, `/v4/ext/*`; Nexconn's own file describes the rest), generated from the
//! request and response types of the functions that serve them. Each of those functions derives
//! `utoipa::ToSchema` on its types, and `shared` on the types they hold, behind their cargo
//! feature `openapi`, which only this crate turns on: a function built on its own (`-p`) compiles
//! no utoipa, and no function calls the derived code, so no artifact links it.
//!
//! A route is one line of [`routes`]: its path and the type its body is read into; the answer is
//! that operation's `Response`, in the envelope every operation answers. The tests below fail
//! while the router serves a path of ours that the document lacks, or the reverse.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::Value;
use shared::http::{ConsoleOperation, Operation};
use utoipa::openapi::path::{self, HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, Responses, ResponsesBuilder};
use utoipa::openapi::schema::{
    AllOfBuilder, ArrayItems, ComponentsBuilder, ObjectBuilder, OneOfBuilder, Ref, Schema, Type,
};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, RefOr, Required,
};
use utoipa::{PartialSchema, ToSchema};

use crate::router::Access;

/// Where the local API serves the document.
pub const PATH: &str = "/openapi.json";

/// The route prefixes of the document: everything that is not Nexconn's.
pub const PREFIXES: [&str; 2] = ["/console/v1/", "/v4/ext/"];

/// Whether `path` is one of ours (described here rather than in Nexconn's file).
pub fn is_ours(path: &str) -> bool {
    PREFIXES.iter().any(|prefix| path.starts_with(prefix))
}

/// Every route of ours, one line each: the path and the type its body is read into.
fn routes() -> Vec<Route> {
    vec![
        signed::<accept_friend_request::AcceptFriendRequest>("/v4/ext/friend/request/accept"),
        signed::<reject_friend_request::RejectFriendRequest>("/v4/ext/friend/request/reject"),
        signed::<list_friend_requests::ListFriendRequests>("/v4/ext/friend/request/list"),
        signed::<check_dm_permission::CheckDmPermission>("/v4/ext/dm/permission/check"),
        signed::<get_operation::GetOperation>("/v4/ext/operation/get"),
        signed::<list_webhook_deliveries::ListWebhookDeliveries>("/v4/ext/webhook/delivery/list"),
        signed::<replay_webhooks::ReplayWebhooks>("/v4/ext/webhook/replay"),
        console::<list_apps::ListApps>("/console/v1/apps/list"),
        console::<create_app::CreateApp>("/console/v1/apps/create"),
        console::<get_app::GetApp>("/console/v1/apps/get"),
        console::<update_app::UpdateApp>("/console/v1/apps/update"),
        console::<rotate_app_secret::RotateAppSecret>("/console/v1/apps/rotate-secret"),
        console::<rotate_webhook_secret::RotateWebhookSecret>(
            "/console/v1/apps/rotate-webhook-secret",
        ),
        console::<delete_test_user::DeleteTestUser>("/console/v1/apps/delete-test-user"),
        console::<list_app_users::ListAppUsers>("/console/v1/users/list"),
        console::<get_user_details::GetUserDetails>("/console/v1/users/get"),
        console::<list_audit_entries::ListAuditEntries>("/console/v1/audit/list"),
        console::<get_metrics::GetMetrics>("/console/v1/metrics/get"),
        for_console::<expire_access_token::ExpireAccessToken>("/console/v1/users/expire-tokens"),
        for_console::<ban_users::BanUsers>("/console/v1/users/ban"),
        for_console::<unban_users::UnbanUsers>("/console/v1/users/unban"),
        for_console::<list_banned_users::ListBannedUsers>("/console/v1/users/banned"),
        for_console::<soft_delete_users::SoftDeleteUsers>("/console/v1/users/soft-delete"),
        for_console::<restore_users::RestoreUsers>("/console/v1/users/restore"),
        for_console::<list_soft_deleted_users::ListSoftDeletedUsers>(
            "/console/v1/users/soft-deleted",
        ),
        for_console::<list_webhook_deliveries::ListWebhookDeliveries>(
            "/console/v1/webhooks/deliveries",
        ),
        for_console::<replay_webhooks::ReplayWebhooks>("/console/v1/webhooks/replay"),
    ]
}

/// One route as the document describes it.
struct Route {
    path: &'static str,
    /// The function that serves it (the router must agree).
    function: &'static str,
    access: Access,
    /// A console route on which a Server API operation runs for the app its body names.
    for_app: bool,
    request: RefOr<Schema>,
    /// The schema of `result`; `None` when the operation answers none (`Response = ()`).
    result: Option<RefOr<Schema>>,
    /// The named schemas `request` and `result` refer to, directly or not.
    schemas: Vec<(String, RefOr<Schema>)>,
}

/// A signed Server API route.
fn signed<O>(path: &'static str) -> Route
where
    O: Operation + ToSchema,
    O::Response: ToSchema + 'static,
{
    let mut schemas = Vec::new();
    Route {
        path,
        function: O::NAME,
        access: Access::Signed,
        for_app: false,
        request: named::<O>(&mut schemas),
        result: result::<O::Response>(&mut schemas),
        schemas,
    }
}

/// A console route (`ConsoleOperation`).
fn console<O>(path: &'static str) -> Route
where
    O: ConsoleOperation + ToSchema,
    O::Response: ToSchema + 'static,
{
    let mut schemas = Vec::new();
    Route {
        path,
        function: O::NAME,
        access: Access::Console,
        for_app: false,
        request: named::<O>(&mut schemas),
        result: result::<O::Response>(&mut schemas),
        schemas,
    }
}

/// A console route on which a Server API operation runs (`Operation::CONSOLE_PATHS`): the body
/// is `appKey` beside the operation's own fields.
fn for_console<O>(path: &'static str) -> Route
where
    O: Operation + ToSchema,
    O::Response: ToSchema + 'static,
{
    let operation = signed::<O>(path);
    let app_key = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "appKey",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The app the operation runs on.")),
        )
        .required("appKey");
    Route {
        access: Access::Console,
        for_app: true,
        request: AllOfBuilder::new()
            .item(app_key)
            .item(operation.request)
            .into(),
        ..operation
    }
}

/// A reference to `T`'s named schema; adds that schema, and those it refers to, to `schemas`.
fn named<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema> {
    let name = T::name();
    schemas.push((name.to_string(), T::schema()));
    T::schemas(schemas);
    Ref::from_schema_name(name).into()
}

/// The schema of an operation's `result`: none for `()` (the envelope then has no `result`).
fn result<R: ToSchema + 'static>(
    schemas: &mut Vec<(String, RefOr<Schema>)>,
) -> Option<RefOr<Schema>> {
    (TypeId::of::<R>() != TypeId::of::<()>()).then(|| named::<R>(schemas))
}

/// The error answer of every operation: `ApiError::body`.
const ERROR: &str = "Error";
/// What API Gateway answers itself (its authorizer's refusal, a payload above its limit, a
/// function that failed to answer): `{"message"}`.
const GATEWAY_ANSWER: &str = "GatewayAnswer";
/// The console's sign-in (a Cognito access token on AWS; the admin token or a session locally).
const CONSOLE_SCHEME: &str = "ConsoleBearer";
/// The Server API's signing headers, all four required together.
const SIGNING_SCHEMES: [(&str, &str, &str); 4] = [
    ("AppKey", "App-Key", "The app's key."),
    (
        "Nonce",
        "Nonce",
        "1 to 18 characters, never reused by the app within the 5-minute window on an operation that changes data.",
    ),
    (
        "Timestamp",
        "Timestamp",
        "Unix time in milliseconds, within 5 minutes of the server's clock.",
    ),
    (
        "Signature",
        "Signature",
        "Lowercase hex SHA-1 of appSecret + Nonce + Timestamp (the UTF-8 strings, concatenated).",
    ),
];

/// The document, or why it cannot be assembled (two types of the same name).
pub fn document() -> Result<OpenApi, String> {
    let mut paths = PathsBuilder::new();
    let mut schemas: BTreeMap<String, RefOr<Schema>> = BTreeMap::new();
    for route in routes() {
        paths = paths.path(
            route.path,
            PathItem::new(HttpMethod::Post, operation(&route)),
        );
        for (name, schema) in route.schemas {
            if let Some(known) = schemas.get(&name)
                && !same(known, &schema)
            {
                return Err(format!(
                    "two different types are named {name}: give one another name with #[schema(as = ...)]"
                ));
            }
            schemas.insert(name, schema);
        }
    }
    app_changes_as_read(&mut schemas);
    metric_point_as_serialized(&mut schemas);
    schemas.insert(ERROR.to_owned(), error_schema());
    schemas.insert(GATEWAY_ANSWER.to_owned(), gateway_answer_schema());
    let mut components = ComponentsBuilder::new().schemas_from_iter(schemas);
    for (scheme, header, description) in SIGNING_SCHEMES {
        components = components.security_scheme(
            scheme,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                header,
                description,
            ))),
        );
    }
    components = components.security_scheme(
        CONSOLE_SCHEME,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "On AWS a Cognito access token with the scope console/admin (API Gateway's \
                     JWT authorizer); locally the admin token or a console session.",
                ))
                .build(),
        ),
    );
    let info = InfoBuilder::new()
        .title("chat-users: Server API extensions and console")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "The routes that are not Nexconn's: the Server API's extensions under /v4/ext/ \
             (signed like every Server API call) and the console under /console/v1/ (the \
             console's bearer token). Every route is a POST of a JSON body; a success is HTTP \
             200 with {\"code\": 0, \"result\": ...}, an error {\"code\", \"errorMessage\"}. \
             Nexconn's own OpenAPI file describes the official routes.",
        ));
    Ok(OpenApiBuilder::new()
        .info(info)
        .paths(paths)
        .components(Some(components.build()))
        .build())
}

/// The document as JSON, assembled once.
pub fn json() -> &'static Result<Value, String> {
    static JSON: LazyLock<Result<Value, String>> = LazyLock::new(|| {
        document().and_then(|api| serde_json::to_value(api).map_err(|e| e.to_string()))
    });
    &JSON
}

/// `AppChanges` (the body of create-app, and of update-app beside `appKey`) as its own
/// `Deserialize` reads it (shared/src/apps.rs), which its derived schema cannot say: the fields
/// flat or inside `settings`, and unknown fields refused by that code (the derived
/// `additionalProperties: false` would also refuse update-app's `appKey`).
fn app_changes_as_read(schemas: &mut BTreeMap<String, RefOr<Schema>>) {
    let name = <shared::apps::AppChanges as ToSchema>::name();
    if let Some(RefOr::T(Schema::Object(changes))) = schemas.get_mut(name.as_ref()) {
        changes.additional_properties = None;
        let mut settings = Ref::from_schema_name(name.as_ref());
        settings.description =
            "The same fields, shaped as get shows them (each in one place only).".to_owned();
        changes
            .properties
            .insert("settings".to_owned(), settings.into());
    }
}

/// A metric's point, `Point(i64, f64)` (shared/src/metrics/read.rs), is serialized as the
/// array `[t, value]`; utoipa describes a tuple struct whose fields differ in type as an array
/// of objects.
fn metric_point_as_serialized(schemas: &mut BTreeMap<String, RefOr<Schema>>) {
    let name = <shared::metrics::read::Point as ToSchema>::name();
    if let Some(RefOr::T(Schema::Array(point))) = schemas.get_mut(name.as_ref()) {
        point.prefix_items = vec![i64::schema().into(), f64::schema().into()];
        point.items = ArrayItems::False;
    }
}

fn same(a: &RefOr<Schema>, b: &RefOr<Schema>) -> bool {
    matches!((serde_json::to_value(a), serde_json::to_value(b)), (Ok(a), Ok(b)) if a == b)
}

fn operation(route: &Route) -> path::Operation {
    let (tag, security, operation_id) = match (route.access, route.for_app) {
        (Access::Signed, _) => (
            "Server API extensions",
            SIGNING_SCHEMES
                .iter()
                .fold(SecurityRequirement::default(), |all, (scheme, _, _)| {
                    all.add(*scheme, Vec::<String>::new())
                }),
            route.function.to_owned(),
        ),
        (Access::Console, for_app) => (
            "Console",
            SecurityRequirement::new(CONSOLE_SCHEME, Vec::<String>::new()),
            // The same function may serve a signed route of the document too.
            match for_app {
                true => format!("console-{}", route.function),
                false => route.function.to_owned(),
            },
        ),
    };
    OperationBuilder::new()
        .tag(tag)
        .operation_id(Some(operation_id))
        .description(Some(format!(
            "Served by the function `{}`.",
            route.function
        )))
        .security(security)
        .request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(route.request.clone()))
                        .build(),
                )
                .build(),
        ))
        .responses(responses(route))
        .build()
}

fn responses(route: &Route) -> Responses {
    let error = || -> RefOr<Schema> { Ref::from_schema_name(ERROR).into() };
    let gateway = || -> RefOr<Schema> { Ref::from_schema_name(GATEWAY_ANSWER).into() };
    let either = || -> RefOr<Schema> { OneOfBuilder::new().item(error()).item(gateway()).into() };
    let mut responses = ResponsesBuilder::new().response(
        "200",
        answer(
            "Done: code 0, and the operation's result if it has one.",
            envelope(route.result.clone()),
        ),
    );
    if route.access == Access::Console {
        responses = responses
            .response("401", answer("The console's authorizer refused the call: no token, or not a valid one.", gateway()))
            .response("403", answer("Refused by the authorizer (a token without the console's scope) or by the operation.", either()));
    }
    responses
        .response(
            "413",
            answer("The body is above API Gateway's limit (10 MB).", gateway()),
        )
        .response(
            "4XX",
            answer(
                "Refused: code says why (the contract's business codes).",
                error(),
            ),
        )
        .response(
            "5XX",
            answer(
                "Failed: the operation's error, or API Gateway's when the function did not answer.",
                either(),
            ),
        )
        .build()
}

fn answer(description: &str, schema: RefOr<Schema>) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new().schema(Some(schema)).build(),
    )
}

/// `{"code": 0, "result": <result>}`, or `{"code": 0}` for an operation without a result.
fn envelope(result: Option<RefOr<Schema>>) -> RefOr<Schema> {
    let code = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .enum_values(Some([0]));
    let envelope = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("code", code)
        .required("code");
    match result {
        Some(result) => envelope
            .property("result", result)
            .required("result")
            .into(),
        None => envelope.into(),
    }
}

fn error_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("An operation's refusal or failure."))
        .property(
            "code",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int64,
                )))
                .description(Some(
                    "The business code (e.g. 1002: a parameter is invalid).",
                )),
        )
        .required("code")
        .property(
            "errorMessage",
            ObjectBuilder::new().schema_type(Type::String),
        )
        .required("errorMessage")
        .property(
            "profileKey",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The profile key a profile error is about.")),
        )
        .into()
}

fn gateway_answer_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "An answer of API Gateway itself, e.g. {\"message\": \"Unauthorized\"}.",
        ))
        .property("message", ObjectBuilder::new().schema_type(Type::String))
        .required("message")
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document_json() -> &'static Value {
        json().as_ref().expect("the document assembles")
    }

    #[test]
    fn the_document_has_every_route_of_ours_the_router_serves_and_no_other() {
        let router = crate::router::all();
        let access: BTreeMap<_, _> = router.paths().into_iter().collect();
        let served: Vec<_> = router
            .functions()
            .into_iter()
            .filter(|(path, _)| is_ours(path))
            .map(|(path, function)| (path, function, access[path]))
            .collect();
        let mut documented: Vec<_> = routes()
            .into_iter()
            .map(|route| (route.path, route.function, route.access))
            .collect();
        documented.sort();
        let missing: Vec<_> = served.iter().filter(|r| !documented.contains(r)).collect();
        let unserved: Vec<_> = documented.iter().filter(|r| !served.contains(r)).collect();
        assert!(
            missing.is_empty() && unserved.is_empty(),
            "add the route's line to routes() in local-api/src/openapi.rs: {missing:?}; \
             documented as served, but the router does not (or not so): {unserved:?}"
        );
        assert_eq!(documented, served, "a route is listed twice");
        // The document's paths are those lines' (`served` is sorted by path, as JSON keys are).
        let paths: Vec<&str> = document_json()["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .map(String::as_str)
            .collect();
        let served_paths: Vec<_> = served.iter().map(|(path, _, _)| *path).collect();
        assert_eq!(paths, served_paths);
    }

    #[test]
    fn every_reference_names_a_schema_of_the_document() {
        fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
            match value {
                Value::Object(object) => {
                    if let Some(Value::String(target)) = object.get("$ref") {
                        found.push(target);
                    }
                    object.values().for_each(|inner| refs(inner, found));
                }
                Value::Array(items) => items.iter().for_each(|inner| refs(inner, found)),
                _ => {}
            }
        }
        let document = document_json();
        let mut found = Vec::new();
        refs(document, &mut found);
        assert!(found.len() > 40, "{found:?}");
        for target in found {
            let name = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{target}: not a schema reference"));
            assert!(
                document["components"]["schemas"].get(name).is_some(),
                "{target} names no schema"
            );
        }
    }

    #[test]
    fn each_route_says_how_it_is_called_and_what_it_answers() {
        let document = document_json();
        let operation = |path: &str| &document["paths"][path]["post"];
        let replay = operation("/v4/ext/webhook/replay");
        let signing = replay["security"][0].as_object().expect("one requirement");
        let mut names: Vec<_> = signing.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, ["AppKey", "Nonce", "Signature", "Timestamp"]);
        assert_eq!(
            document["components"]["securitySchemes"]["Signature"],
            serde_json::json!({"type": "apiKey", "in": "header", "name": "Signature",
                "description": SIGNING_SCHEMES[3].2})
        );
        assert_eq!(
            replay["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["result"]
                ["$ref"],
            "#/components/schemas/Replayed"
        );
        let ban = operation("/console/v1/users/ban");
        assert_eq!(ban["security"][0]["ConsoleBearer"], serde_json::json!([]));
        let scheme = &document["components"]["securitySchemes"]["ConsoleBearer"];
        assert_eq!(
            (&scheme["scheme"], &scheme["bearerFormat"]),
            (&"bearer".into(), &"JWT".into())
        );
        // An operation without a result answers only the code.
        let success = &ban["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(success["required"], serde_json::json!(["code"]));
        assert!(success["properties"].get("result").is_none());
        // The console runs the Server API's ban on the app its body names.
        let body = &ban["requestBody"]["content"]["application/json"]["schema"]["allOf"];
        assert_eq!(body[0]["required"], serde_json::json!(["appKey"]));
        assert_eq!(body[1]["$ref"], "#/components/schemas/BanUsers");
        let ids: Vec<_> = document["paths"]
            .as_object()
            .expect("paths")
            .values()
            .map(|item| item["post"]["operationId"].as_str().expect("an id"))
            .collect();
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
    }

    #[test]
    fn a_metric_point_is_described_as_the_pair_it_is_serialized_to() {
        let point = shared::metrics::read::Point(1_700_000_000_000, 0.25);
        assert_eq!(
            serde_json::to_value(point).expect("a point serializes"),
            serde_json::json!([1_700_000_000_000_i64, 0.25])
        );
        let schema = &document_json()["components"]["schemas"]["MetricPoint"];
        assert_eq!(schema["prefixItems"][0]["type"], "integer");
        assert_eq!(schema["prefixItems"][1]["type"], "number");
        assert_eq!(schema["items"], false);
    }
}
