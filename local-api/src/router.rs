//! Path → function, the way API Gateway routes each path to its function; each function runs in
//! its own container ([`Functions`]).

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use shared::http::{ConsoleOperation, Operation, render, request_id};
use shared::lambda_http::http::{Response, StatusCode};
use shared::lambda_http::{Body, Request};
use shared::replay::Placement;
use shared::{ApiError, State};

use crate::console_session::{self, ConsoleGate};
use crate::functions::Functions;

type Handler = Arc<dyn Fn(Arc<State>, Request) -> BoxFuture<'static, Response<Body>> + Send + Sync>;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Access {
    /// Signed with App-Key/Nonce/Timestamp/Signature (checked by the handler).
    Signed,
    /// Console: API Gateway's JWT authorizer (a Cognito access token with the scope
    /// `console/admin`) when deployed; here the admin token or a session
    /// ([`crate::console_session`]).
    Console,
}

#[derive(Clone)]
struct Route {
    access: Access,
    /// The function (its binary name) that serves the path.
    function: &'static str,
    /// Where a signed change records its nonce; `None` for reads and the console.
    nonce: Option<Placement>,
    handler: Handler,
}

#[derive(Default, Clone)]
pub struct Router {
    routes: HashMap<&'static str, Route>,
}

impl Router {
    pub fn operation<O: Operation>(&mut self) -> &mut Self {
        let nonce = (!O::READ_ONLY).then_some(O::NONCE);
        // The same function serves the operation for the console (`Operation::CONSOLE_PATHS`).
        let routes = (O::PATHS.iter().map(|path| (path, Access::Signed, nonce))).chain(
            O::CONSOLE_PATHS
                .iter()
                .map(|path| (path, Access::Console, None)),
        );
        for (path, access, nonce) in routes {
            let handler: Handler =
                Arc::new(|state, request| Box::pin(shared::http::serve::<O>(state, request)));
            let function = O::NAME;
            let route = Route {
                access,
                function,
                nonce,
                handler,
            };
            self.routes.insert(path, route);
        }
        self
    }

    pub fn console<O: ConsoleOperation>(&mut self) -> &mut Self {
        for path in O::PATHS {
            let handler: Handler = Arc::new(|state, request| {
                Box::pin(shared::http::serve_console::<O>(state, request))
            });
            self.routes.insert(
                path,
                Route {
                    access: Access::Console,
                    function: O::NAME,
                    nonce: None,
                    handler,
                },
            );
        }
        self
    }

    pub fn paths(&self) -> Vec<(&'static str, Access)> {
        let mut paths: Vec<_> = self.routes.iter().map(|(p, r)| (*p, r.access)).collect();
        paths.sort();
        paths
    }

    /// Every path with the function that serves it.
    pub fn functions(&self) -> Vec<(&'static str, &'static str)> {
        let mut paths: Vec<_> = self.routes.iter().map(|(p, r)| (*p, r.function)).collect();
        paths.sort();
        paths
    }

    /// Where the operation on `path` records its nonce: `None` for a read, the console or an
    /// unknown path.
    pub fn nonce_placement(&self, path: &str) -> Option<Placement> {
        self.routes.get(path).and_then(|route| route.nonce)
    }

    /// Routes one request to its function's container. `console` admits console calls the way
    /// the deployed JWT authorizer does: anyone else gets its 401 before any function runs, and
    /// an admitted call carries the authorizer's context to the function.
    pub async fn dispatch<G: ConsoleGate + ?Sized>(
        &self,
        functions: &Functions,
        mut request: Request,
        console: &G,
    ) -> Response<Body> {
        let Some(route) = self.routes.get(request.uri().path()) else {
            let id = request_id(request.headers());
            return render(404, &ApiError::UnknownPath.body(), &id);
        };
        if route.access == Access::Console {
            let Some(caller) = console.admit(request.headers()) else {
                return unauthorized(&request_id(request.headers()));
            };
            if let Err(err) = console_session::authorize(&mut request, &caller) {
                tracing::error!(error = %err, "no authorizer context");
                let id = request_id(request.headers());
                return render(500, &ApiError::Internal(err.to_string()).body(), &id);
            }
        }
        match functions.state(route.function) {
            Ok(state) => (route.handler)(state, request).await,
            Err(err) => {
                tracing::error!(function = route.function, error = %err, "no container");
                let id = request_id(request.headers());
                render(err.status(), &err.body(), &id)
            }
        }
    }
}

/// What API Gateway answers when its authorizer refuses a call.
pub(crate) fn unauthorized(request_id: &str) -> Response<Body> {
    let mut response = render(
        StatusCode::UNAUTHORIZED.as_u16(),
        &serde_json::json!({ "message": "Unauthorized" }),
        request_id,
    );
    // RFC 6750: say which scheme the route wants.
    response.headers_mut().insert(
        "www-authenticate",
        shared::lambda_http::http::HeaderValue::from_static("Bearer"),
    );
    response
}

/// Every operation of the project, on its real path.
pub fn all() -> Router {
    let mut router = Router::default();
    router
        .console::<get_metrics::GetMetrics>()
        .console::<list_audit_entries::ListAuditEntries>()
        .console::<get_user_details::GetUserDetails>()
        .console::<list_app_users::ListAppUsers>()
        .console::<list_apps::ListApps>()
        .console::<rotate_webhook_secret::RotateWebhookSecret>()
        .operation::<replay_webhooks::ReplayWebhooks>()
        .operation::<list_webhook_deliveries::ListWebhookDeliveries>()
        .operation::<issue_access_token::IssueAccessToken>()
        .operation::<expire_access_token::ExpireAccessToken>()
        .operation::<get_user::GetUser>()
        .operation::<update_user::UpdateUser>()
        .operation::<set_user_profile::SetUserProfile>()
        .operation::<batch_get_user_profiles::BatchGetUserProfiles>()
        .operation::<list_user_profiles::ListUserProfiles>()
        .operation::<delete_user_profiles::DeleteUserProfiles>()
        .operation::<add_friend::AddFriend>()
        .operation::<remove_friends::RemoveFriends>()
        .operation::<remove_all_friends::RemoveAllFriends>()
        .operation::<list_friends::ListFriends>()
        .operation::<get_friend_relationships::GetFriendRelationships>()
        .operation::<set_friend_permission::SetFriendPermission>()
        .operation::<get_friend_permission::GetFriendPermission>()
        .operation::<set_friend_profile::SetFriendProfile>()
        .operation::<list_friend_requests::ListFriendRequests>()
        .operation::<accept_friend_request::AcceptFriendRequest>()
        .operation::<reject_friend_request::RejectFriendRequest>()
        .operation::<add_user_blocklist::AddUserBlocklist>()
        .operation::<remove_user_blocklist::RemoveUserBlocklist>()
        .operation::<get_user_blocklist::GetUserBlocklist>()
        .operation::<ban_users::BanUsers>()
        .operation::<unban_users::UnbanUsers>()
        .operation::<list_banned_users::ListBannedUsers>()
        .operation::<batch_set_user_tags::BatchSetUserTags>()
        .operation::<batch_get_user_tags::BatchGetUserTags>()
        .operation::<set_channel_type_mute::SetChannelTypeMute>()
        .operation::<list_channel_type_mute::ListChannelTypeMute>()
        .operation::<check_dm_permission::CheckDmPermission>()
        .console::<create_app::CreateApp>()
        .console::<get_app::GetApp>()
        .console::<update_app::UpdateApp>()
        .console::<rotate_app_secret::RotateAppSecret>()
        .operation::<soft_delete_users::SoftDeleteUsers>()
        .operation::<restore_users::RestoreUsers>()
        .operation::<list_soft_deleted_users::ListSoftDeletedUsers>()
        .operation::<get_operation::GetOperation>()
        .operation::<get_user_connection_status::GetUserConnectionStatus>()
        .console::<delete_test_user::DeleteTestUser>();
    router
}
