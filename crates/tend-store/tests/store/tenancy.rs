use tend_core::tenancy::Scope;
use tend_store::{Error, MetricQuery};

use crate::{at, client_with_host, each_backend};

#[tokio::test]
async fn a_client_scope_sees_only_its_own_client() {
    each_backend(|store, db| async move {
        let (acme, acme_host) = client_with_host(&store, "acme").await;
        let (globex, globex_host) = client_with_host(&store, "globex").await;
        let acme_scope = Scope::Client(acme);

        let clients = store.list_clients(acme_scope, 0, 100).await.unwrap();
        assert_eq!(clients.iter().map(|c| c.id).collect::<Vec<_>>(), vec![acme]);
        assert_eq!(store.list_clients(Scope::AllClients, 0, 100).await.unwrap().len(), 2);
        let second_page = store.list_clients(Scope::AllClients, acme, 1).await.unwrap();
        assert_eq!(second_page.iter().map(|c| c.id).collect::<Vec<_>>(), vec![globex]);

        let hosts = store.list_hosts(acme_scope, None, 0, 100).await.unwrap();
        assert_eq!(hosts.iter().map(|h| h.id).collect::<Vec<_>>(), vec![acme_host.host_id]);
        // Asking for another client's hosts explicitly yields nothing, not them.
        assert!(store.list_hosts(acme_scope, Some(globex), 0, 100).await.unwrap().is_empty());

        assert!(matches!(store.host(acme_scope, globex_host.host_id).await, Err(Error::NotFound("host"))));
        assert!(matches!(store.client(acme_scope, globex).await, Err(Error::NotFound("client"))));
        assert!(store.latest_values(acme_scope, globex_host.host_id).await.is_err());
        let query = MetricQuery { host_id: globex_host.host_id, name: "load1", from: at(0), to: at(10), step_secs: 1 };
        assert!(store.metric_series(acme_scope, &query).await.is_err());
        assert!(store.create_site(acme_scope, globex, "paris", at(0)).await.is_err());
        assert!(store.revoke_agent(acme_scope, globex_host.agent_id, at(2)).await.is_err());
        assert_eq!(store.list_enrollment_tokens(acme_scope).await.unwrap().len(), 1);

        store.host(Scope::Client(globex), globex_host.host_id).await.expect("own host");
        db
    })
    .await;
}

#[tokio::test]
async fn sites_belong_to_their_client_and_names_are_unique() {
    each_backend(|store, db| async move {
        let client = store.create_client("acme", at(0)).await.unwrap();
        assert!(matches!(store.create_client("acme", at(0)).await, Err(Error::Conflict(_))));
        let site = store.create_site(Scope::AllClients, client.id, "paris", at(0)).await.unwrap();
        assert!(matches!(
            store.create_site(Scope::AllClients, client.id, "paris", at(0)).await,
            Err(Error::Conflict(_))
        ));
        let sites = store.list_sites(Scope::Client(client.id), client.id).await.unwrap();
        assert_eq!(sites, vec![site]);
        assert!(store.list_sites(Scope::Client(client.id + 1), client.id).await.is_err());
        db
    })
    .await;
}
