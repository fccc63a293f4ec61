//! The harness's own checks must bite: each test breaks containment by hand (not through a
//! plugin) and expects `Sandbox::verify` to fail with the matching message.

use std::fs;
use std::hint::black_box;
use std::net::TcpStream;

use crate::harness::{Sandbox, SECRET};
use crate::support::measure::{measure, MIB};

#[test]
#[should_panic(expected = "the tree changed outside")]
fn harness_catches_a_change_outside_the_writable_paths() {
    let sb = Sandbox::new();
    let ((), usage) = measure(|| fs::write(sb.root.join("etc/x"), b"changed").unwrap());
    sb.verify(usage, &sb.expect("selftest"), &[]);
}

#[test]
#[should_panic(expected = "the tree changed outside")]
fn harness_catches_a_new_file_outside_the_root() {
    let sb = Sandbox::new();
    let ((), usage) = measure(|| fs::write(sb.outside.join("keys/planted.key"), b"x").unwrap());
    sb.verify(usage, &sb.expect("selftest"), &[]);
}

#[test]
#[should_panic(expected = "the secret leaked into an output")]
fn harness_catches_part_of_the_secret_in_an_output() {
    let sb = Sandbox::new();
    let mut output = b"prefix ".to_vec();
    output.extend_from_slice(&SECRET[3..17]);
    sb.verify(measure(|| ()).1, &sb.expect("selftest"), &[&output]);
}

#[test]
#[should_panic(expected = "holds the secret")]
fn harness_catches_a_copy_of_the_secret_under_the_root() {
    let sb = Sandbox::new();
    let ((), usage) = measure(|| fs::write(sb.data.join("copy"), SECRET).unwrap());
    let mut expect = sb.expect("selftest");
    expect.writable = vec![sb.data.join("copy")];
    sb.verify(usage, &expect, &[]);
}

#[test]
#[should_panic(expected = "holds the secret")]
fn harness_catches_another_hard_link_to_the_secret_under_the_root() {
    // Only the planted `data/hardkey` may name the secret file.
    let sb = Sandbox::new();
    let ((), usage) = measure(|| fs::hard_link(&sb.secret_path, sb.data.join("link2")).unwrap());
    let mut expect = sb.expect("selftest");
    expect.writable = vec![sb.data.join("link2")];
    sb.verify(usage, &expect, &[]);
}

#[test]
#[should_panic(expected = "keys/device.key: changed")]
fn harness_catches_a_write_through_the_planted_hard_link() {
    let sb = Sandbox::new();
    let ((), usage) = measure(|| fs::write(sb.data.join("hardkey"), b"pwned").unwrap());
    let mut expect = sb.expect("selftest");
    expect.writable = vec![sb.data.join("hardkey")];
    sb.verify(usage, &expect, &[]);
}

#[test]
#[should_panic(expected = "the forbidden listener accepted 1 connection")]
fn harness_catches_a_connection_to_the_forbidden_listener() {
    let sb = Sandbox::new();
    drop(TcpStream::connect(sb.forbidden.addr()).unwrap());
    sb.verify(measure(|| ()).1, &sb.expect("selftest"), &[]);
}

#[test]
#[should_panic(expected = "connections to the granted listener")]
fn harness_catches_an_unexpected_connection_to_the_granted_listener() {
    let sb = Sandbox::new();
    drop(TcpStream::connect(sb.granted.addr()).unwrap());
    sb.verify(measure(|| ()).1, &sb.expect("selftest"), &[]);
}

#[test]
#[should_panic(expected = "a program that must not run left")]
fn harness_catches_an_ungranted_program_run() {
    let sb = Sandbox::new();
    let status = std::process::Command::new(&sb.ungranted).status().unwrap();
    assert!(status.success());
    sb.verify(measure(|| ()).1, &sb.expect("selftest"), &[]);
}

#[test]
#[should_panic(expected = "runs of the granted tool")]
fn harness_catches_an_extra_run_of_the_granted_tool() {
    let sb = Sandbox::new();
    let status = std::process::Command::new(&sb.tool).status().unwrap();
    assert!(status.success());
    sb.verify(measure(|| ()).1, &sb.expect("selftest"), &[]);
}

#[test]
#[should_panic(expected = "host memory grew by")]
fn harness_catches_memory_over_the_bound() {
    let sb = Sandbox::new();
    let ((), usage) = measure(|| drop(black_box(vec![1u8; 8 * MIB])));
    let mut expect = sb.expect("selftest");
    expect.bound = 4 * MIB;
    sb.verify(usage, &expect, &[]);
}
