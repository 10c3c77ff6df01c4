//! Non-damage: stack frames, versions, SHAs, UUIDs, timestamps, ports and line numbers
//! come back unchanged.

use std::borrow::Cow;

use homeostat::scrub::Scrubber;

use super::untouched;

#[test]
fn javascript_stack_frames_stay() {
    untouched(
        "TypeError: Cannot read properties of undefined (reading 'id')\n    \
         at renderNote (chrome-extension://abcdefghijklmnop/popup.js:10:15)\n    \
         at HTMLButtonElement.<anonymous> (https://app.example.com/static/js/main.3f2a1b.js:2:1034)\n\
         onClick@main.js:3:7\nrenderNote@https://cdn.example.com/app.min.js:1:2345",
    );
}

#[test]
fn python_stack_frames_stay() {
    untouched(
        "Traceback (most recent call last):\n  File \"/srv/app/handlers/orders.py\", line 3, in create\n    \
         total = compute(items)\n  File \"/usr/lib/python3.12/decimal.py\", line 1234, in compute\n\
         KeyError: 'price'",
    );
}

#[test]
fn rust_and_go_frames_stay() {
    untouched("thread 'main' panicked at src/main.rs:42:7:\ncalled `Option::unwrap()` on a `None` value");
    untouched("   3: homeostat::scrub::Scrubber::run\n             at ./src/scrub.rs:210:13");
    untouched("goroutine 1 [running]:\nmain.main()\n\t/home/dev/app/main.go:27 +0x1d\nexit status 2");
}

#[test]
fn java_frames_stay() {
    untouched(
        "java.lang.NullPointerException: null\n\tat com.example.orders.OrderService.total(OrderService.java:123)\n\t\
         at java.base/java.lang.Thread.run(Thread.java:1583)",
    );
}

#[test]
fn versions_stay() {
    untouched("release 1.4.2 and v2.10.0-rc.1 and 3.0.0-beta.4+build.5");
    untouched("upgrade to version 10.0.2.15 failed");
    untouched("v10.0.2.15");
    untouched(r#"{"version": "10.0.2.15", "release": "4.3.2.1"}"#);
    untouched("Mozilla/5.0 Chrome/120.0.6099.109 Safari/537.36 Foo/10.0.2.15");
    untouched("windows 10.0.19041.1 and 1.2.3.4.5");
}

#[test]
fn commit_shas_stay() {
    untouched("fixed in 9fceb02d0ae598e95dc970b74767f19372d61af8 (short 9fceb02, 9fceb02d0ae5)");
    untouched("sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

#[test]
fn uuids_stay() {
    untouched("order 550e8400-e29b-41d4-a716-446655440000 not found");
    untouched("request-id: 123e4567-e89b-12d3-a456-426614174000");
}

#[test]
fn timestamps_stay() {
    untouched("at 2026-01-21T10:00:00Z and 2026-01-21T10:00:00.123+05:30 and 2026-01-21 10:00:00,123");
    untouched("epoch 1737453600 ms 1737453600000 ns 1737453600000000000");
    untouched("Mon, 21 Jan 2026 10:00:00 GMT");
}

#[test]
fn ports_and_line_numbers_stay() {
    untouched("listening on localhost:8080 and :3000, line 1234, col 56, exit code 137");
    untouched("app.js:10:15 main.rs:42:7 Foo.java:123 x.py:3");
}

#[test]
fn code_paths_hex_and_numbers_stay() {
    untouched("std::io::Error at foo::bar::<T>::baz and Foo::Bar()");
    untouched("segfault at 0x7ffd5fbff8a0 ip 0x000055d4c3a1b2c3");
    untouched("retrying in 500 ms (attempt 3/5), 100 200 3000 items, +1 more, @@ -1,7 +1,12 @@");
    untouched("ssh: connect to host git@github.com port 22; remote git@gitlab.example.org:acme/app.git");
    untouched("npm ERR! @scope/pkg@1.2.3 and lodash@4.17.21 and https://deno.land/std@0.200.0/mod.ts");
}

#[test]
fn mac_addresses_and_clock_times_are_not_ipv6() {
    untouched("at 10:00:00 and 23:59:59.999, mac 00:1a:2b:3c:4d:5e");
}

#[test]
fn clean_text_is_borrowed() {
    let text = "nothing to see here: TypeError at app.js:1:1";
    assert!(matches!(Scrubber::builtin().scrub(text), Cow::Borrowed(_)));
}
