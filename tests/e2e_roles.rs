//! Runtime tests of custom roles against the built Worker in workerd with
//! local D1: a role created, given by invitation and join link, its holder's allowed and
//! refused calls and `/v1/authorize`, `role_in_use`; and the races the
//! guarded statements settle (the 25th role, a deletion against an
//! assignment).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::json;
use support::*;

#[test]
fn a_custom_role_is_given_by_invitation_and_join_link_and_its_holder_does_exactly_its_set() {
    let w = Worker::shared();
    let api = w.api();
    let owner = api.verified("owner.roles1@example.com");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    let catalog = api.permissions(&owner).expect(200).body;
    assert_eq!(catalog["data"].as_array().unwrap().len(), 18);
    let made = api.create_role(&owner, &org, "billing-viewer", &["org:read", "members:read", "audit:read"]).expect(201);
    assert_eq!(made.body["builtin"], false);
    let vera = api.join(&owner, Tenant::Org(&org), "vera@example.com", "billing-viewer");
    // Allowed: what the set holds.
    assert_eq!(api.org(&vera, &org).expect(200).body["role"], "billing-viewer");
    api.members(&vera, Tenant::Org(&org)).expect(200);
    api.audit_log(&vera, Tenant::Org(&org)).expect(200);
    let decided = api.authorize(&vera, "audit:read", &org).expect(200).body;
    assert_eq!(decided["allowed"], true);
    assert_eq!(
        (decided["via"]["kind"].as_str(), decided["via"]["role"].as_str()),
        (Some("org_role"), Some("billing-viewer"))
    );
    // Refused: everything else.
    api.update_org(&vera, &org, json!({"name": "Mine"})).expect_problem(403, "forbidden");
    api.invite(&vera, Tenant::Org(&org), "x.roles1@example.com", "member").expect_problem(403, "forbidden");
    api.create_key(&vera, &org, "ci", &["org:read"]).expect_problem(403, "forbidden");
    api.create_role(&vera, &org, "mine", &["org:read"]).expect_problem(403, "forbidden");
    assert_eq!(api.authorize(&vera, "apps:deploy", &org).expect(200).body["allowed"], false);
    // A permission taken from the role is gone on the next request.
    api.update_role(&owner, &org, "billing-viewer", json!({"permissions": ["org:read", "members:read"]})).expect(200);
    api.audit_log(&vera, Tenant::Org(&org)).expect_problem(403, "forbidden");
    // A join link gives it too (migration 0030 in D1).
    let link = api.create_join_link(&owner, &org, json!({"role": "billing-viewer"})).expect(201).body;
    let lee = api.verified("lee@example.com");
    let joined = api.accept_join_link(&lee, link["token"].as_str().unwrap()).expect(201).body;
    assert_eq!(joined["role"], "billing-viewer");
    assert_eq!(api.authorize(&lee, "members:read", &org).expect(200).body["via"]["role"], "billing-viewer");
    // Held or given: not deletable; once nobody holds it and no link gives it, deleted.
    api.delete_role(&owner, &org, "billing-viewer").expect_problem(409, "role_in_use");
    api.change_role(&owner, Tenant::Org(&org), &vera.id(), "member").expect(200);
    api.change_role(&owner, Tenant::Org(&org), &lee.id(), "member").expect(200);
    api.delete_role(&owner, &org, "billing-viewer").expect_problem(409, "role_in_use");
    api.revoke_join_link(&owner, &org, link["id"].as_str().unwrap()).expect(204);
    api.delete_role(&owner, &org, "billing-viewer").expect(204);
    api.change_role(&owner, Tenant::Org(&org), &vera.id(), "billing-viewer").expect_problem(422, "validation_failed");
}

#[test]
fn six_creations_at_24_roles_make_exactly_one_25th() {
    let w = Worker::shared();
    let owner = w.api().verified("owner.roles2@example.com");
    let org = w.api().create_org(&owner, "Acme").expect(201).id();
    for i in 0..24 {
        w.api().create_role(&owner, &org, &format!("role-{i:02}"), &["org:read"]).expect(201);
    }
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let (w, owner, org) = (w, &owner, &org);
                s.spawn(move || {
                    let r = w.api().create_role(owner, org, &format!("racer-{i}"), &["org:read"]);
                    (r.status, r.code().to_owned())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won = answers.iter().filter(|(s, _)| *s == 201).count();
    let lost = answers.iter().filter(|(s, c)| *s == 409 && c == "role_limit_reached").count();
    assert_eq!((won, lost), (1, 5), "{answers:?}");
    let list = w.api().roles(&owner, &org).expect(200).body;
    assert_eq!(list["data"].as_array().unwrap().len(), 3 + 25);
}

#[test]
fn a_deletion_racing_an_assignment_never_leaves_a_member_with_a_missing_role() {
    let w = Worker::shared();
    let api = w.api();
    let owner = api.verified("owner.roles3@example.com");
    let org = api.create_org(&owner, "Acme").expect(201).id();
    let people: Vec<Person> =
        (0..4).map(|i| api.join(&owner, Tenant::Org(&org), &format!("p{i}@example.com"), "member")).collect();
    for (round, person) in people.iter().enumerate() {
        let key = format!("temp-{round}");
        api.create_role(&owner, &org, &key, &["org:read"]).expect(201);
        let target = person.id();
        let (deleted, assigned) = std::thread::scope(|s| {
            let d = s.spawn(|| w.api().delete_role(&owner, &org, &key).status);
            let a = s.spawn(|| w.api().change_role(&owner, Tenant::Org(&org), &target, &key).status);
            (d.join().unwrap(), a.join().unwrap())
        });
        let exists = api.role(&owner, &org, &key).status == 200;
        let members = api.members(&owner, Tenant::Org(&org)).expect(200).body;
        let holds = members["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["user_id"] == target.as_str() && m["role"] == key.as_str());
        match (deleted, assigned) {
            (204, s) => assert!(!exists && !holds && (s == 422 || s == 409), "round {round}: assignment {s}"),
            (409, 200) => assert!(exists && holds, "round {round}"),
            other => panic!("round {round}: {other:?}"),
        }
        assert!(!holds || exists, "round {round}: a member holds a role the org lacks");
    }
}
