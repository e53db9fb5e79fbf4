#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! Root IngressRoutes: the root checks of [behaviour docs/behaviour.md#s2-3](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s2-3) (namespace, fqdn), duplicate fqdns ([behaviour docs/behaviour.md#s2-2](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s2-2),
//! decision [D10](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d10)) and ingress classes ([behaviour docs/behaviour.md#s1-9](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/behaviour.md#s1-9)).

mod support;

use support::*;

#[test]
fn a_root_with_a_service_is_valid_and_serves_its_fqdn() {
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_status(&dag, "default/basic", Valid, "valid IngressRoute");
    let vhost = vhost(&dag, "foo.com");
    assert_eq!(vhost.root, r("default/basic"));
    assert_eq!(prefixes(vhost), ["/"]);
    assert_eq!(upstreams(route(vhost, "/")), ["default/s1:80"]);
    assert_eq!(*route(vhost, "/").source, r("default/basic"));
    assert!(vhost.secure.is_none());
    assert_eq!(
        dag.status(&r("default/basic")).unwrap().vhost.as_deref(),
        Some("foo.com")
    );
}

#[test]
fn a_root_without_a_namespace_lives_in_default() {
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .with(|ir| ir.metadata.namespace = None)
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_valid(&dag, "default/basic");
}

#[test]
fn a_root_outside_the_root_namespaces_is_invalid() {
    let dag = Fixture::new()
        .root_namespaces(&["roots"])
        .root("default/basic", "foo.com")
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        "root IngressRoute cannot be defined in this namespace",
    );
    assert_eq!(
        dag.status(&r("default/basic")).unwrap().vhost,
        None,
        "no vhost is recorded (docs/behaviour.md#s2-3 step 2)"
    );
    assert!(dag.virtual_hosts().is_empty());
}

#[test]
fn a_root_inside_the_root_namespaces_is_valid() {
    let dag = Fixture::new()
        .root_namespaces(&["roots", "other"])
        .root("roots/basic", "foo.com")
        .route("/", svc("s1", 80))
        .service("roots/s1", &[80])
        .dag();
    assert_valid(&dag, "roots/basic");
    assert_eq!(fqdns(&dag), ["foo.com"]);
}

#[test]
fn the_root_namespace_restriction_does_not_apply_to_children() {
    let dag = Fixture::new()
        .root_namespaces(&["roots"])
        .root("roots/basic", "foo.com")
        .route("/", delegate("team/child"))
        .child("team/child")
        .route("/", svc("s1", 80))
        .service("team/s1", &[80])
        .dag();
    assert_valid(&dag, "team/child");
    assert_eq!(upstreams(route(vhost(&dag, "foo.com"), "/")), ["team/s1:80"]);
}

#[test]
fn a_root_with_an_empty_fqdn_is_invalid() {
    let dag = Fixture::new()
        .root("default/basic", "")
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_invalid(&dag, "default/basic", "Spec.VirtualHost.Fqdn must be specified");
    assert_eq!(
        dag.status(&r("default/basic")).unwrap().vhost,
        None,
        "no vhost is recorded (docs/behaviour.md#s2-3 step 3)"
    );
    assert!(dag.virtual_hosts().is_empty());
}

#[test]
fn a_root_with_a_blank_fqdn_is_invalid() {
    let dag = Fixture::new()
        .root("default/basic", " \t ")
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_invalid(&dag, "default/basic", "Spec.VirtualHost.Fqdn must be specified");
}

#[test]
fn a_wildcard_fqdn_is_invalid() {
    let dag = Fixture::new()
        .root("default/basic", "*.foo.com")
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"Spec.VirtualHost.Fqdn "*.foo.com" cannot use wildcards"#,
    );
    assert_eq!(
        dag.status(&r("default/basic")).unwrap().vhost.as_deref(),
        Some("*.foo.com")
    );
    assert!(dag.virtual_hosts().is_empty());
}

#[test]
fn a_wildcard_anywhere_in_the_fqdn_is_invalid() {
    let dag = Fixture::new()
        .root("default/basic", "foo.*")
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_invalid(
        &dag,
        "default/basic",
        r#"Spec.VirtualHost.Fqdn "foo.*" cannot use wildcards"#,
    );
}

#[test]
fn an_fqdn_with_characters_no_host_name_has_is_invalid() {
    // Not in Contour: Envoy would reject or never match such a domain, and one bad domain
    // makes Envoy reject the whole route configuration.
    for (fqdn, quoted) in [
        ("foo.com/bar", r#""foo.com/bar""#),
        ("foo com", r#""foo com""#),
        ("foo.com\n", r#""foo.com\n""#),
        ("foo.com:8080", r#""foo.com:8080""#),
    ] {
        let dag = Fixture::new()
            .root("default/basic", fqdn)
            .route("/", svc("s1", 80))
            .service("default/s1", &[80])
            .dag();
        assert_invalid(
            &dag,
            "default/basic",
            &format!("Spec.VirtualHost.Fqdn {quoted} is not a valid host name"),
        );
    }
}

#[test]
fn the_fqdn_is_used_without_normalisation() {
    let dag = Fixture::new()
        .root("default/basic", "Foo.Example.COM")
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_valid(&dag, "default/basic");
    assert_eq!(fqdns(&dag), ["Foo.Example.COM"]);
}

#[test]
fn a_root_with_zero_routes_is_valid_and_serves_nothing() {
    let dag = Fixture::new().root("default/basic", "foo.com").dag();
    assert_valid(&dag, "default/basic");
    assert_no_vhost(&dag, "foo.com");
}

#[test]
fn a_route_with_neither_services_nor_delegate_is_ignored() {
    let dag = Fixture::new()
        .root("default/basic", "foo.com")
        .route("/nothing", Nothing)
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_valid(&dag, "default/basic");
    assert_eq!(prefixes(vhost(&dag, "foo.com")), ["/"]);
}

// ----- duplicate fqdns (docs/behaviour.md#s2-2, D10) ----------------------------------------------------------

#[test]
fn roots_sharing_an_fqdn_are_all_invalid_with_the_sorted_member_list() {
    let dag = Fixture::new()
        .root("default/b", "foo.com")
        .route("/", svc("s1", 80))
        .root("default/a", "foo.com")
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    let description = r#"fqdn "foo.com" is used in multiple IngressRoutes: default/a, default/b"#;
    assert_invalid(&dag, "default/a", description);
    assert_invalid(&dag, "default/b", description);
    assert_eq!(dag.status(&r("default/a")).unwrap().vhost.as_deref(), Some("foo.com"));
    assert!(dag.virtual_hosts().is_empty(), "duplicate roots serve nothing");
}

#[test]
fn the_duplicate_member_list_is_sorted_as_bytes_across_namespaces() {
    let dag = Fixture::new()
        .root("zeta/a", "foo.com")
        .root("alpha/z", "foo.com")
        .root("Beta/m", "foo.com")
        .root("alpha/b", "other.com")
        .dag();
    let description = r#"fqdn "foo.com" is used in multiple IngressRoutes: Beta/m, alpha/z, zeta/a"#;
    for key in ["zeta/a", "alpha/z", "Beta/m"] {
        assert_invalid(&dag, key, description);
    }
    assert_valid(&dag, "alpha/b");
}

#[test]
fn fqdns_differing_only_in_case_are_duplicates() {
    // Not in Contour, which compares fqdns byte for byte: Envoy matches hosts
    // case-insensitively, so `Foo.com` and `foo.com` would fight over the same requests.
    // Each root's description quotes its own spelling and lists every member.
    let dag = Fixture::new()
        .root("default/a", "Foo.com")
        .route("/", svc("s1", 80))
        .root("default/b", "foo.COM")
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_invalid(
        &dag,
        "default/a",
        r#"fqdn "Foo.com" is used in multiple IngressRoutes: default/a, default/b"#,
    );
    assert_invalid(
        &dag,
        "default/b",
        r#"fqdn "foo.COM" is used in multiple IngressRoutes: default/a, default/b"#,
    );
    assert!(dag.virtual_hosts().is_empty());
}

#[test]
fn duplicate_fqdns_are_found_before_the_other_root_checks() {
    // docs/behaviour.md#s2-2: the fqdn check runs first, so even roots with an unusable fqdn or TLS secret
    // are reported as duplicates.
    let dag = Fixture::new()
        .root("default/a", "")
        .root("default/b", "")
        .tls("missing")
        .dag();
    let description = r#"fqdn "" is used in multiple IngressRoutes: default/a, default/b"#;
    assert_invalid(&dag, "default/a", description);
    assert_invalid(&dag, "default/b", description);
}

#[test]
fn children_of_duplicate_roots_are_orphaned() {
    let dag = Fixture::new()
        .root("default/a", "foo.com")
        .route("/", delegate("child"))
        .root("default/b", "foo.com")
        .route("/", delegate("child"))
        .child("default/child")
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_orphaned(&dag, "default/child");
}

#[test]
fn a_root_in_a_forbidden_namespace_cannot_knock_out_a_legitimate_root() {
    // Decision D10: only roots that pass the root-namespace check take part.
    let dag = Fixture::new()
        .root_namespaces(&["roots"])
        .root("roots/legit", "foo.com")
        .route("/", svc("s1", 80))
        .service("roots/s1", &[80])
        .root("intruder/squat", "foo.com")
        .route("/", svc("s1", 80))
        .service("intruder/s1", &[80])
        .dag();
    assert_valid(&dag, "roots/legit");
    assert_invalid(
        &dag,
        "intruder/squat",
        "root IngressRoute cannot be defined in this namespace",
    );
    assert_eq!(upstreams(route(vhost(&dag, "foo.com"), "/")), ["roots/s1:80"]);
}

#[test]
fn two_roots_in_forbidden_namespaces_are_not_duplicates_of_each_other() {
    let dag = Fixture::new()
        .root_namespaces(&["roots"])
        .root("a/x", "foo.com")
        .root("b/x", "foo.com")
        .dag();
    assert_invalid(&dag, "a/x", "root IngressRoute cannot be defined in this namespace");
    assert_invalid(&dag, "b/x", "root IngressRoute cannot be defined in this namespace");
}

#[test]
fn roots_with_different_fqdns_each_serve_their_own_routes() {
    let dag = Fixture::new()
        .root("default/a", "a.com")
        .route("/", svc("s1", 80))
        .root("default/b", "b.com")
        .route("/b", svc("s2", 80))
        .service("default/s1", &[80])
        .service("default/s2", &[80])
        .dag();
    assert_eq!(fqdns(&dag), ["a.com", "b.com"]);
    assert_eq!(prefixes(vhost(&dag, "a.com")), ["/"]);
    assert_eq!(prefixes(vhost(&dag, "b.com")), ["/b"]);
    assert_eq!(upstreams(route(vhost(&dag, "b.com"), "/b")), ["default/s2:80"]);
}

#[test]
fn virtual_hosts_are_sorted_by_fqdn() {
    let dag = Fixture::new()
        .root("default/z", "z.com")
        .route("/", svc("s1", 80))
        .root("default/a", "b.com")
        .route("/", svc("s1", 80))
        .root("default/m", "a.com")
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_eq!(fqdns(&dag), ["a.com", "b.com", "z.com"]);
}

// ----- ingress classes (docs/behaviour.md#s1-9) ---------------------------------------------------------------

fn classed(annotations: &[(&str, &str)]) -> Fixture {
    let mut fixture = Fixture::new()
        .root("default/basic", "foo.com")
        .route("/", svc("s1", 80));
    for (key, value) in annotations {
        fixture = fixture.annotate(key, value);
    }
    fixture.service("default/s1", &[80])
}

#[test]
fn an_ingress_route_of_another_class_gets_no_status_and_serves_nothing() {
    for key in [
        "projectcontour.io/ingress.class",
        "contour.heptio.com/ingress.class",
        "kubernetes.io/ingress.class",
    ] {
        let dag = classed(&[(key, "nginx")]).dag();
        assert_no_status(&dag, "default/basic");
        assert!(dag.virtual_hosts().is_empty(), "{key}");
    }
}

#[test]
fn an_ingress_route_of_the_served_class_is_processed() {
    for key in [
        "projectcontour.io/ingress.class",
        "contour.heptio.com/ingress.class",
        "kubernetes.io/ingress.class",
    ] {
        let dag = classed(&[(key, "contour")]).dag();
        assert_valid(&dag, "default/basic");
    }
}

#[test]
fn an_ingress_route_without_a_class_is_accepted_by_every_contour() {
    let dag = classed(&[]).ingress_class("internal").dag();
    assert_valid(&dag, "default/basic");
}

#[test]
fn an_empty_class_is_accepted_by_every_contour() {
    let dag = classed(&[("kubernetes.io/ingress.class", "")])
        .ingress_class("internal")
        .dag();
    assert_valid(&dag, "default/basic");
}

#[test]
fn the_first_present_class_annotation_decides() {
    // projectcontour.io, then contour.heptio.com, then kubernetes.io.
    let accepted = classed(&[
        ("projectcontour.io/ingress.class", "contour"),
        ("kubernetes.io/ingress.class", "nginx"),
    ])
    .dag();
    assert_valid(&accepted, "default/basic");

    let filtered = classed(&[
        ("projectcontour.io/ingress.class", "nginx"),
        ("kubernetes.io/ingress.class", "contour"),
    ])
    .dag();
    assert_no_status(&filtered, "default/basic");

    let middle = classed(&[
        ("contour.heptio.com/ingress.class", "nginx"),
        ("kubernetes.io/ingress.class", "contour"),
    ])
    .dag();
    assert_no_status(&middle, "default/basic");
}

#[test]
fn a_present_but_empty_first_annotation_decides_even_over_a_foreign_class() {
    // "Present" means the key exists: an empty projectcontour.io class wins over a foreign
    // kubernetes.io class, and empty means every Contour.
    let dag = classed(&[
        ("projectcontour.io/ingress.class", ""),
        ("kubernetes.io/ingress.class", "nginx"),
    ])
    .dag();
    assert_valid(&dag, "default/basic");
}

#[test]
fn a_configured_class_filters_the_default_one() {
    let dag = classed(&[("kubernetes.io/ingress.class", "contour")])
        .ingress_class("internal")
        .dag();
    assert_no_status(&dag, "default/basic");
    let dag = classed(&[("kubernetes.io/ingress.class", "internal")])
        .ingress_class("internal")
        .dag();
    assert_valid(&dag, "default/basic");
}

#[test]
fn other_annotations_do_not_select_a_class() {
    let dag = classed(&[("example.com/ingress.class", "nginx")]).dag();
    assert_valid(&dag, "default/basic");
}

#[test]
fn a_filtered_root_does_not_count_for_fqdn_conflicts() {
    let dag = Fixture::new()
        .root("default/ours", "foo.com")
        .route("/", svc("s1", 80))
        .root("default/theirs", "foo.com")
        .annotate("kubernetes.io/ingress.class", "nginx")
        .route("/", svc("s1", 80))
        .service("default/s1", &[80])
        .dag();
    assert_valid(&dag, "default/ours");
    assert_no_status(&dag, "default/theirs");
}

#[test]
fn a_filtered_child_acts_as_a_missing_delegation_target() {
    let dag = Fixture::new()
        .root("default/root", "foo.com")
        .route("/", svc("s1", 80))
        .route("/child", delegate("child"))
        .child("default/child")
        .annotate("projectcontour.io/ingress.class", "nginx")
        .route("/child", svc("s2", 80))
        .service("default/s1", &[80])
        .service("default/s2", &[80])
        .dag();
    assert_valid(&dag, "default/root");
    assert_no_status(&dag, "default/child");
    assert_eq!(prefixes(vhost(&dag, "foo.com")), ["/"]);
    assert!(
        dag.graph().vertex(&r("default/child")).is_none(),
        "filtered objects are not in the graph"
    );
}

#[test]
fn a_filtered_root_is_not_a_root_to_delegate_to() {
    // A delegation to a root of another class is a delegation to a missing object, not
    // the "root cannot delegate to another root" error.
    let dag = Fixture::new()
        .root("default/root", "foo.com")
        .route("/", svc("s1", 80))
        .route("/other", delegate("other"))
        .root("default/other", "other.com")
        .annotate("kubernetes.io/ingress.class", "nginx")
        .service("default/s1", &[80])
        .dag();
    assert_valid(&dag, "default/root");
}

// ----- the status value ---------------------------------------------------------------------

#[test]
fn statuses_carry_a_machine_readable_reason_and_convert_to_the_api_status() {
    use ingressroute_dag::Reason;

    let dag = Fixture::new()
        .root("default/ok", "ok.com")
        .root("default/dup-a", "dup.com")
        .root("default/dup-b", "dup.com")
        .root("default/wild", "*.com")
        .child("default/orphan")
        .dag();
    let reason = |key: &str| dag.status(&r(key)).unwrap().reason;
    assert_eq!(reason("default/ok"), Reason::Valid);
    assert_eq!(reason("default/dup-a"), Reason::DuplicateFqdn);
    assert_eq!(reason("default/wild"), Reason::FqdnWildcard);
    assert_eq!(reason("default/orphan"), Reason::Orphaned);

    let api = dag.status(&r("default/ok")).unwrap().to_api();
    assert_eq!(
        (api.current_status.as_str(), api.description.as_str()),
        ("valid", "valid IngressRoute")
    );
    let api = dag.status(&r("default/orphan")).unwrap().to_api();
    assert_eq!(api.current_status, "orphaned");
    let api = dag.status(&r("default/wild")).unwrap().to_api();
    assert_eq!(api.current_status, "invalid");
    assert_eq!(api.description, r#"Spec.VirtualHost.Fqdn "*.com" cannot use wildcards"#);
}
