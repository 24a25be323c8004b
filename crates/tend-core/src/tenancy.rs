//! Who may see and do what.
//!
//! The provider (organisation) has clients; clients have sites; sites have hosts. Staff of the
//! provider see every client; a client's users see only their own client. [`Scope`] is the only
//! way the storage layer learns what a caller may see, and it can only be built from an
//! authenticated [`Principal`] or, explicitly, for the server's own background work.

use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportLevel {
    L1,
    L2,
    L3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The provider's administrator: everything.
    Admin,
    /// The provider's technician, working at one support level.
    Technician(SupportLevel),
    /// A customer's administrator: their own client, including its users.
    ClientAdmin,
    /// A customer's user: reads their own client's data and files requests.
    ClientUser,
}

impl Role {
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Technician(_))
    }
}

/// An authenticated user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub role: Role,
    /// The client a customer's user belongs to; `None` for the provider's staff.
    pub client_id: Option<i64>,
}

/// What data a request may read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The provider's staff: every client.
    AllClients,
    /// One client's users: that client alone.
    Client(i64),
    /// The server's own schedulers and the agent ingest path. Every use is deliberate and
    /// greppable; handlers acting for a user never use it.
    System,
}

impl Scope {
    /// The client to restrict queries to, or `None` when every client is visible.
    pub fn client_filter(self) -> Option<i64> {
        match self {
            Scope::Client(id) => Some(id),
            Scope::AllClients | Scope::System => None,
        }
    }

    pub fn sees_client(self, client_id: i64) -> bool {
        self.client_filter().is_none_or(|own| own == client_id)
    }
}

impl Principal {
    /// The scope of everything this principal may see.
    ///
    /// A customer's user without a client (a broken account) sees nothing rather than
    /// everything: the client id -1 never exists.
    pub fn scope(&self) -> Scope {
        if self.role.is_staff() { Scope::AllClients } else { Scope::Client(self.client_id.unwrap_or(-1)) }
    }
}

/// Actions that change the tenancy itself or open a path onto customers' machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CreateClient,
    CreateSite {
        client_id: i64,
    },
    /// Create a user with the given role in the given client (None for staff).
    CreateUser {
        role: Role,
        client_id: Option<i64>,
    },
    /// An enrollment token lets a machine join a client: provider staff only.
    CreateEnrollmentToken {
        client_id: i64,
    },
    RevokeAgent {
        client_id: i64,
    },
    /// Acknowledge an alert, plan maintenance, set up notifications or tune checks.
    OperateMonitoring {
        client_id: Option<i64>,
    },
    /// Add or change the people of a client the provider talks to.
    ManageContacts {
        client_id: i64,
    },
}

/// Whether `principal` may perform `action`.
pub fn authorize(principal: &Principal, action: Action) -> Result<(), Error> {
    let allowed = match (principal.role, action) {
        (Role::Admin, _) => true,
        (Role::Technician(_), Action::CreateUser { .. }) => false,
        (Role::Technician(_), Action::CreateClient) => false,
        (Role::Technician(_), _) => true,
        (Role::ClientAdmin, Action::CreateUser { role, client_id }) => {
            !role.is_staff() && client_id.is_some() && client_id == principal.client_id
        }
        (Role::ClientAdmin, Action::ManageContacts { client_id }) => principal.client_id == Some(client_id),
        (Role::ClientAdmin | Role::ClientUser, _) => false,
    };
    if allowed { Ok(()) } else { Err(Error::Forbidden(refusal(action))) }
}

fn refusal(action: Action) -> &'static str {
    match action {
        Action::CreateClient => "only an administrator may create clients",
        Action::CreateSite { .. } => "only the provider's staff may create sites",
        Action::CreateUser { .. } => {
            "only an administrator, or a client administrator for their own client, may create users"
        }
        Action::CreateEnrollmentToken { .. } => "only the provider's staff may create enrollment tokens",
        Action::RevokeAgent { .. } => "only the provider's staff may revoke agents",
        Action::OperateMonitoring { .. } => "only the provider's staff may operate monitoring",
        Action::ManageContacts { .. } => {
            "only the provider's staff, or a client administrator for their own client, may manage contacts"
        }
    }
}

/// Longest name of a client, site, user or token.
pub const MAX_NAME_CHARS: usize = 200;

/// A trimmed, non-empty, printable name of at most [`MAX_NAME_CHARS`] characters.
pub fn validate_name<'a>(field: &'static str, name: &'a str) -> Result<&'a str, Error> {
    let name = name.trim();
    let reason = if name.is_empty() {
        "must not be empty".to_owned()
    } else if name.chars().count() > MAX_NAME_CHARS {
        format!("must be at most {MAX_NAME_CHARS} characters")
    } else if name.chars().any(char::is_control) {
        "must not contain control characters".to_owned()
    } else {
        return Ok(name);
    };
    Err(Error::Invalid { field, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, client_id: Option<i64>) -> Principal {
        Principal { user_id: 1, role, client_id }
    }

    #[test]
    fn staff_see_all_clients_and_customers_only_their_own() {
        assert_eq!(principal(Role::Admin, None).scope(), Scope::AllClients);
        let tech = principal(Role::Technician(SupportLevel::L2), None);
        assert_eq!(tech.scope(), Scope::AllClients);
        assert_eq!(principal(Role::ClientUser, Some(7)).scope(), Scope::Client(7));
        assert_eq!(principal(Role::ClientAdmin, Some(7)).scope(), Scope::Client(7));
    }

    #[test]
    fn a_customer_without_client_sees_nothing() {
        let scope = principal(Role::ClientUser, None).scope();
        assert!(!scope.sees_client(1));
        assert!(!scope.sees_client(0));
    }

    #[test]
    fn scope_filters() {
        assert!(Scope::AllClients.sees_client(3));
        assert!(Scope::System.sees_client(3));
        assert!(Scope::Client(3).sees_client(3));
        assert!(!Scope::Client(3).sees_client(4));
    }

    #[test]
    fn authorization_table() {
        use Action::*;
        let admin = principal(Role::Admin, None);
        let tech = principal(Role::Technician(SupportLevel::L1), None);
        let cadmin = principal(Role::ClientAdmin, Some(5));
        let cuser = principal(Role::ClientUser, Some(5));
        let user_in = |client| CreateUser { role: Role::ClientUser, client_id: Some(client) };
        let cases: &[(&Principal, Action, bool)] = &[
            (&admin, CreateClient, true),
            (&admin, user_in(9), true),
            (&admin, CreateUser { role: Role::Admin, client_id: None }, true),
            (&admin, CreateEnrollmentToken { client_id: 5 }, true),
            (&tech, CreateClient, false),
            (&tech, CreateSite { client_id: 5 }, true),
            (&tech, user_in(5), false),
            (&tech, CreateEnrollmentToken { client_id: 5 }, true),
            (&tech, RevokeAgent { client_id: 5 }, true),
            (&cadmin, user_in(5), true),
            (&cadmin, user_in(6), false),
            (&cadmin, CreateUser { role: Role::Admin, client_id: None }, false),
            (&cadmin, CreateUser { role: Role::Technician(SupportLevel::L3), client_id: Some(5) }, false),
            (&cadmin, CreateEnrollmentToken { client_id: 5 }, false),
            (&cadmin, CreateClient, false),
            (&cuser, user_in(5), false),
            (&cuser, CreateSite { client_id: 5 }, false),
            (&cuser, RevokeAgent { client_id: 5 }, false),
            (&tech, OperateMonitoring { client_id: Some(5) }, true),
            (&tech, OperateMonitoring { client_id: None }, true),
            (&cadmin, OperateMonitoring { client_id: Some(5) }, false),
            (&tech, ManageContacts { client_id: 5 }, true),
            (&cadmin, ManageContacts { client_id: 5 }, true),
            (&cadmin, ManageContacts { client_id: 6 }, false),
            (&cuser, ManageContacts { client_id: 5 }, false),
        ];
        for (who, action, expected) in cases {
            assert_eq!(authorize(who, *action).is_ok(), *expected, "{who:?} {action:?}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(validate_name("name", "  Acme SA ").unwrap(), "Acme SA");
        for bad in ["", "   ", "a\nb", &"x".repeat(MAX_NAME_CHARS + 1)] {
            assert!(matches!(validate_name("name", bad), Err(Error::Invalid { field: "name", .. })), "{bad:?}");
        }
        assert!(validate_name("name", &"é".repeat(MAX_NAME_CHARS)).is_ok());
    }
}
