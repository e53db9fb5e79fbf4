//! Editing the served files while Envoy serves: each test has an Envoy of its own, since
//! it changes what is served.

use std::time::Duration;

use crate::support::manifests::{root, service};
use crate::support::world::Lease;
use crate::support::{Setup, World, eventually};

/// Waits until `GET http://<host>/` is answered by `expected`.
async fn served_by(world: &World, host: &str, expected: &str) {
    eventually(&format!("{host} to be served by {expected}"), || async {
        let backend = world.get(host, "/").await?.backend()?;
        (backend == expected)
            .then_some(())
            .ok_or(format!("served by {backend}"))
    })
    .await;
}

/// The status changes `serve` logged after its first `since` lines.
fn status_lines(world: &World, since: usize) -> Vec<String> {
    world.logs().lines()[since..]
        .iter()
        .filter(|line| line.contains("status: "))
        .cloned()
        .collect()
}

/// A world with backends `one` and `two` (Services of the same names) and `files`.
async fn world(name: &str, files: &[(&str, String)]) -> Option<Lease> {
    let mut s = Setup::new(name)?;
    let [one, two] = ["one", "two"].map(|name| s.http(name));
    s.file(
        "services.yaml",
        [service("default", "one", &[&one]), service("default", "two", &[&two])].concat(),
    );
    for (path, content) in files {
        s.file(path, content.clone());
    }
    Some(Lease::own(s.start().await))
}

#[tokio::test]
async fn an_edit_changes_routing_without_dropping_an_in_flight_request() {
    let Some(world) = world(
        "reload-edit",
        &[("route.yaml", root("reload", "reload.example.com", "one"))],
    )
    .await
    else {
        return;
    };
    served_by(&world, "reload.example.com", "one").await;

    let one = world.backend("one");
    let before = one.hits();
    let address = world.http;
    let in_flight =
        tokio::spawn(
            async move { crate::support::client::get(address, "reload.example.com", "/?delay_ms=3000").await },
        );
    eventually("the slow request to reach one", || async {
        (one.hits() > before).then_some(()).ok_or_else(|| "not yet".to_owned())
    })
    .await;

    world.write("route.yaml", &root("reload", "reload.example.com", "two"));
    served_by(&world, "reload.example.com", "two").await;
    assert!(
        !in_flight.is_finished(),
        "the switch happened while the request was in flight"
    );

    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.backend().unwrap(), "one");
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn a_broken_edit_keeps_the_files_last_good_routing_and_other_files_still_update() {
    let files = [
        ("first.yaml", root("first", "first.example.com", "one")),
        ("second.yaml", root("second", "second.example.com", "one")),
    ];
    let Some(world) = world("reload-broken", &files).await else {
        return;
    };
    served_by(&world, "first.example.com", "one").await;
    served_by(&world, "second.example.com", "one").await;

    // Bad YAML in one file, a good edit in the other: the parser's line is the line in
    // the file, and the broken file's last good version is still served.
    let mark = world.logs().len();
    world.write("first.yaml", "# a comment\napiVersion: v1\nkind: [\n");
    world.write("second.yaml", &root("second", "second.example.com", "two"));
    served_by(&world, "second.example.com", "two").await;
    let error = world
        .wait_for_log(
            mark,
            &["first.yaml: document 1 (line 3): unclosed bracket '[' at line 3, column 7"],
        )
        .await;
    assert!(error.contains("WARN"), "{error}");
    world
        .wait_for_log(mark, &["first.yaml: broken; its last good version is still served"])
        .await;
    for _ in 0..5 {
        assert_eq!(
            world.get("first.example.com", "/").await.unwrap().backend().unwrap(),
            "one"
        );
    }

    // Fixed: the new version is served.
    let mark = world.logs().len();
    world.write("first.yaml", &root("first", "first.example.com", "two"));
    served_by(&world, "first.example.com", "two").await;
    world.wait_for_log(mark, &["first.yaml: fixed"]).await;
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn an_object_the_api_server_would_reject_is_not_served_and_the_rest_of_its_file_is() {
    let both = |first: &str| format!("{first}---\n{}", root("second", "second.example.com", "one"));
    let files = [("routes.yaml", both(&root("first", "first.example.com", "one")))];
    let Some(world) = world("reload-per-object", &files).await else {
        return;
    };
    served_by(&world, "first.example.com", "one").await;
    served_by(&world, "second.example.com", "one").await;

    // A field of the wrong type: that IngressRoute does not exist (its status says why),
    // the other one in the same file takes the edit.
    let mark = world.logs().len();
    let eighty = root("first", "first.example.com", "two").replace("port: 80", "port: eighty");
    world.write(
        "routes.yaml",
        &format!("{eighty}---\n{}", root("second", "second.example.com", "two")),
    );
    served_by(&world, "second.example.com", "two").await;
    not_served(&world, "first.example.com").await;
    world
        .wait_for_log(
            mark,
            &["status: default/first: invalid: cannot decode the IngressRoute: spec.routes[0].services[0].port: invalid type: string \"eighty\""],
        )
        .await;
    world
        .wait_for_log(
            mark,
            &["routes.yaml: document 1 (line 1): spec.routes[0].services[0].port: invalid type"],
        )
        .await;

    // A negative weight (the CRD rejects it): Contour's status, and not served either.
    let mark = world.logs().len();
    let negative = root("first", "first.example.com", "one").replace("port: 80}", "port: 80, weight: -1}");
    world.write("routes.yaml", &both(&negative));
    served_by(&world, "second.example.com", "one").await;
    world
        .wait_for_log(
            mark,
            &["status: default/first: invalid: route \"/\": service \"one\": weight must be greater than or equal to zero"],
        )
        .await;
    not_served(&world, "first.example.com").await;

    world.write("routes.yaml", &both(&root("first", "first.example.com", "one")));
    served_by(&world, "first.example.com", "one").await;
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn status_changes_are_logged_once_per_ingressroute_that_changed() {
    let files = [
        ("first.yaml", root("first", "first.example.com", "one")),
        ("second.yaml", root("second", "second.example.com", "one")),
    ];
    let Some(world) = world("reload-status", &files).await else {
        return;
    };
    world
        .wait_for_log(0, &["status: default/first: valid: valid IngressRoute"])
        .await;
    world
        .wait_for_log(0, &["status: default/second: valid: valid IngressRoute"])
        .await;

    let mark = world.logs().len();
    world.write("second.yaml", &root("second", "second.example.com", "missing"));
    let line = world
        .wait_for_log(
            mark,
            &["status: default/second: invalid: Service [missing:80] is invalid or missing"],
        )
        .await;
    assert!(line.contains("WARN"), "{line}");
    // The next change, so that everything logged for the first one is in.
    world.write("first.yaml", &root("first", "first.example.com", "two"));
    served_by(&world, "first.example.com", "two").await;
    let statuses = status_lines(&world, mark);
    assert_eq!(statuses.len(), 1, "only default/second changed: {statuses:#?}");
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn the_files_that_load_are_served_at_once_and_one_that_never_loaded_is_an_error() {
    let Some(mut s) = Setup::new("reload-never-loaded") else {
        return;
    };
    let one = s.http("one");
    s.file("service.yaml", service("default", "one", &[&one]));
    s.file("good.yaml", root("good", "good.example.com", "one"));
    s.file("broken.yaml", "kind: [\n");
    let world = Lease::own(s.start().await);
    served_by(&world, "good.example.com", "one").await;
    let line = world
        .wait_for_log(0, &["broken.yaml: has never loaded; none of its objects are served"])
        .await;
    assert!(line.contains("ERROR"), "{line}");

    world.write("broken.yaml", &root("fixed", "fixed.example.com", "one"));
    served_by(&world, "fixed.example.com", "one").await;
    served_by(&world, "good.example.com", "one").await;
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn with_wait_for_all_nothing_is_served_until_every_file_has_loaded_once() {
    let Some(mut s) = Setup::new("reload-incomplete") else {
        return;
    };
    let one = s.http("one");
    s.file("service.yaml", service("default", "one", &[&one]));
    s.file("good.yaml", root("good", "good.example.com", "one"));
    s.file("broken.yaml", "kind: [\n");
    s.arg("--wait-for-all");
    let world = Lease::own(s.start_unready().await);
    world
        .wait_for_log(0, &["not serving yet: every file must load once"])
        .await;
    // Envoy has been told nothing: no listener, not even for the good file.
    let dump = world.config_dump().await;
    let listeners = dump["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["@type"] == "type.googleapis.com/envoy.admin.v3.ListenersConfigDump")
        .map(|c| c["dynamic_listeners"].as_array().map_or(0, Vec::len))
        .unwrap_or_default();
    assert_eq!(listeners, 0, "{dump:#}");
    assert!(world.get("good.example.com", "/").await.is_err(), "nothing listens yet");

    world.write("broken.yaml", &root("fixed", "fixed.example.com", "one"));
    served_by(&world, "good.example.com", "one").await;
    served_by(&world, "fixed.example.com", "one").await;
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn a_burst_of_edits_is_rebuilt_once_and_a_stream_of_edits_every_half_second() {
    let Some(world) = world(
        "reload-holdoff",
        &[("route.yaml", root("burst", "burst-0.example.com", "one"))],
    )
    .await
    else {
        return;
    };
    served_by(&world, "burst-0.example.com", "one").await;
    let rebuilds = |since: usize| {
        world.logs().lines()[since..]
            .iter()
            .filter(|line| line.contains("serving clusters"))
            .count()
    };

    // Ten edits 10 ms apart: one rebuild 100 ms after the last (a busy machine that
    // stalls for 100 ms in the middle of the burst may split it).
    let mark = world.logs().len();
    for i in 1..=10 {
        world.write("route.yaml", &root("burst", &format!("burst-{i}.example.com"), "one"));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    served_by(&world, "burst-10.example.com", "one").await;
    let burst = rebuilds(mark);
    assert!((1..=3).contains(&burst), "{burst} rebuilds for a burst of 10 edits");

    // Edits every 40 ms for two seconds never leave 100 ms of quiet, yet the configuration
    // is rebuilt at least every 500 ms.
    let mark = world.logs().len();
    for i in 0..50 {
        world.write("route.yaml", &root("burst", &format!("stream-{i}.example.com"), "one"));
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let during = rebuilds(mark);
    assert!(
        (2..=12).contains(&during),
        "{during} rebuilds during 2 s of edits every 40 ms"
    );
    served_by(&world, "stream-49.example.com", "one").await;
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn a_large_file_written_in_place_in_several_writes_is_never_served_half_written() {
    const ROUTES: usize = 200;
    // Whole documents, so that a read between two writes would parse: fewer objects.
    let documents = |version: &str| -> Vec<String> {
        (0..ROUTES)
            .map(|i| {
                format!(
                    "---\n{}",
                    root(&format!("r{i}"), &format!("r{i}-{version}.example.com"), "one")
                )
            })
            .collect()
    };
    let Some(world) = world("reload-in-place", &[("routes.yaml", documents("a").concat())]).await else {
        return;
    };
    served_by(&world, &format!("r{}-a.example.com", ROUTES - 1), "one").await;
    world
        .wait_for_log(0, &[&format!("status: default/r{}: valid", ROUTES - 1)])
        .await;

    // Truncated, then written a quarter at a time, more than the holdoff's 100 ms apart.
    let mark = world.logs().len();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(world.manifests().join("routes.yaml"))
        .unwrap();
    for quarter in documents("b").chunks(ROUTES / 4) {
        std::io::Write::write_all(&mut file, quarter.concat().as_bytes()).unwrap();
        std::io::Write::flush(&mut file).unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(file);
    served_by(&world, &format!("r{}-b.example.com", ROUTES - 1), "one").await;
    served_by(&world, "r0-b.example.com", "one").await;
    // Every IngressRoute stayed valid throughout: none was ever removed or changed.
    let statuses = status_lines(&world, mark);
    assert!(statuses.is_empty(), "{statuses:#?}");
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn sigterm_stops_serve_and_the_envoy_it_started() {
    let Some(world) = world("reload-shutdown", &[("route.yaml", root("r", "r.example.com", "one"))]).await else {
        return;
    };
    served_by(&world, "r.example.com", "one").await;
    world.assert_no_rejected_updates().await;
    let admin = world.admin;
    let logs = world.logs().clone();
    let Ok(world) = std::sync::Arc::try_unwrap(world.into_inner()) else {
        panic!("the world is this test's own");
    };
    let status = world.shut_down();
    assert!(status.success(), "serve exited with {status}");
    assert!(
        logs.lines().iter().any(|line| line.contains("envoy stopped")),
        "{:#?}",
        logs.lines()
    );
    assert!(
        std::net::TcpStream::connect(admin).is_err(),
        "Envoy's admin interface is gone"
    );
}

/// Waits until `GET http://<host>/` is no longer answered by a backend.
async fn not_served(world: &World, host: &str) {
    eventually(&format!("{host} to be served no more"), || async {
        match world.get(host, "/").await {
            Ok(response) if response.status == 200 => Err(format!("served by {:?}", response.backend())),
            _ => Ok(()),
        }
    })
    .await;
}

#[tokio::test]
async fn the_quick_start_serves_a_relative_path_and_follows_edits_renames_deletions_and_creations() {
    // `cargo xtask demo` runs `serve ... examples/local` in the repository: a relative
    // path, and notify reports absolute ones.
    let Some(mut s) = Setup::new("reload-relative") else {
        return;
    };
    let hello = s.http("hello");
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/local/hello.yaml"))
        .unwrap()
        .replace("9000", &hello.port.to_string());
    s.relative("examples/local");
    s.file("hello.yaml", example.clone());
    let world = Lease::own(s.start().await);
    served_by(&world, "hello.local", "hello").await;

    // Written in place.
    world.write_in_place("hello.yaml", &example.replace("hello.local", "edited.local"));
    served_by(&world, "edited.local", "hello").await;
    // A new file renamed over the old one, as most editors save.
    world.write("hello.yaml", &example.replace("hello.local", "renamed.local"));
    served_by(&world, "renamed.local", "hello").await;
    not_served(&world, "edited.local").await;
    // Deleted, then created again.
    world.remove("hello.yaml");
    not_served(&world, "renamed.local").await;
    world.write_in_place("created.yaml", &example.replace("hello.local", "created.local"));
    served_by(&world, "created.local", "hello").await;
    world.assert_no_rejected_updates().await;
}

#[tokio::test]
async fn a_directory_removed_and_created_again_is_watched_again_and_its_new_content_served() {
    let Some(world) = world(
        "reload-recreated",
        &[("route.yaml", root("old", "old.example.com", "one"))],
    )
    .await
    else {
        return;
    };
    served_by(&world, "old.example.com", "one").await;
    let services = std::fs::read_to_string(world.manifests().join("services.yaml")).unwrap();

    // As some deploy tools do: `rm -rf d; mkdir d; cp ...`.
    let mark = world.logs().len();
    std::fs::remove_dir_all(world.manifests()).unwrap();
    std::fs::create_dir(world.manifests()).unwrap();
    std::fs::write(world.manifests().join("services.yaml"), &services).unwrap();
    std::fs::write(
        world.manifests().join("route.yaml"),
        root("new", "new.example.com", "two"),
    )
    .unwrap();
    served_by(&world, "new.example.com", "two").await;
    not_served(&world, "old.example.com").await;
    world
        .wait_for_log(mark, &["the directory was created again; watching the new one"])
        .await;

    // And the new directory is watched.
    world.write("route.yaml", &root("new", "new.example.com", "one"));
    served_by(&world, "new.example.com", "one").await;
    world.assert_no_rejected_updates().await;
}
