//! Golden-byte tests: the postcard encoding of every message is part of the ABI.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ca::{IssueRequest, IssueResponse};
use crate::deploy::{DeployRequest, DeployResponse};
use crate::dns::{
    PublishTxtRequest, PublishTxtResponse, TxtChange, UpdateTxtRequest, UpdateTxtResponse,
};
use crate::reload::{ReloadRequest, ReloadResponse};
use crate::{FailureCode, PluginFailure, Response};

fn check<T: Serialize + DeserializeOwned + PartialEq + core::fmt::Debug>(value: T, bytes: &[u8]) {
    let encoded = postcard::to_allocvec(&value).expect("encode");
    assert_eq!(encoded, bytes, "{value:?}");
    let decoded: T = postcard::from_bytes(bytes).expect("decode");
    assert_eq!(decoded, value);
}

fn s(text: &str) -> String {
    String::from(text)
}

#[test]
fn ca_messages() {
    check(
        IssueRequest {
            csr_pem: s("CSR"),
            identifiers: vec![s("a.b")],
            ca_host: s("ca"),
            ca_port: 8443,
        },
        &[
            3, b'C', b'S', b'R', 1, 3, b'a', b'.', b'b', 2, b'c', b'a', 0xFB, 0x41,
        ],
    );
    check::<Response<IssueResponse>>(
        Ok(IssueResponse {
            chain_pem: s("PEM"),
        }),
        &[0, 3, b'P', b'E', b'M'],
    );
}

#[test]
fn deploy_messages() {
    check(
        DeployRequest {
            chain_pem: s("C"),
            key_ref: None,
            target_dir: s("/c"),
            file_name: s("f"),
        },
        &[1, b'C', 0, 2, b'/', b'c', 1, b'f'],
    );
    check(
        DeployRequest {
            chain_pem: s(""),
            key_ref: Some(s("k")),
            target_dir: s(""),
            file_name: s(""),
        },
        &[0, 1, 1, b'k', 0, 0],
    );
    check::<Response<DeployResponse>>(
        Ok(DeployResponse {
            path: s("/c/f"),
            bytes_written: 300,
        }),
        &[0, 4, b'/', b'c', b'/', b'f', 0xAC, 0x02],
    );
}

#[test]
fn reload_messages() {
    check(
        ReloadRequest {
            program: s("/p"),
            args: vec![s("x"), s("")],
            max_stdout: 1,
        },
        &[2, b'/', b'p', 2, 1, b'x', 0, 1],
    );
    // i32 is zig-zag encoded: -1 -> 1, 1 -> 2.
    check::<Response<ReloadResponse>>(
        Ok(ReloadResponse {
            status: -1,
            stdout: s("o"),
        }),
        &[0, 1, 1, b'o'],
    );
    check::<Response<ReloadResponse>>(
        Ok(ReloadResponse {
            status: 1,
            stdout: s(""),
        }),
        &[0, 2, 0],
    );
}

#[test]
fn dns_messages() {
    check(
        PublishTxtRequest {
            zone: s("z"),
            fqdn: s("f"),
            value: s("v"),
            ttl: 60,
        },
        &[1, b'z', 1, b'f', 1, b'v', 60],
    );
    check::<Response<PublishTxtResponse>>(
        Ok(PublishTxtResponse {
            record_line: s("r"),
        }),
        &[0, 1, b'r'],
    );
    check(
        UpdateTxtRequest {
            change: TxtChange::Remove,
            zone: s("z"),
            fqdn: s("f"),
            value: s("v"),
            ttl: 60,
            server_host: s("ns"),
            server_port: 53,
            tsig_key_file: s("/k"),
        },
        &[
            1, 1, b'z', 1, b'f', 1, b'v', 60, 2, b'n', b's', 53, 2, b'/', b'k',
        ],
    );
    check::<Response<UpdateTxtResponse>>(
        Ok(UpdateTxtResponse {
            record_line: s("r"),
        }),
        &[0, 1, b'r'],
    );
}

#[test]
fn failures() {
    // ABI 1's codes keep their indices; ABI 2 appended the last four.
    let codes = [
        FailureCode::BadRequest,
        FailureCode::Denied,
        FailureCode::NotFound,
        FailureCode::Io,
        FailureCode::Limit,
        FailureCode::Upstream,
        FailureCode::Protocol,
        FailureCode::Internal,
        FailureCode::Unauthorized,
        FailureCode::Rejected,
        FailureCode::RateLimited,
        FailureCode::ChallengeFailed,
    ];
    assert_eq!(codes, FailureCode::ALL);
    for (index, code) in codes.into_iter().enumerate() {
        let mut bytes: Vec<u8> = vec![1, index as u8, 2, b'n', b'o'];
        check::<Response<DeployResponse>>(Err(PluginFailure::new(code, "no")), &bytes);
        bytes[0] = 0xFF;
        assert!(postcard::from_bytes::<Response<DeployResponse>>(&bytes).is_err());
    }
    // An unknown failure code does not decode.
    assert!(postcard::from_bytes::<PluginFailure>(&[12, 0]).is_err());
}

#[test]
fn failure_messages_are_bounded() {
    let long = "é".repeat(PluginFailure::MAX_MESSAGE_BYTES);
    let failure = PluginFailure::new(FailureCode::Internal, long);
    assert!(failure.message.len() <= PluginFailure::MAX_MESSAGE_BYTES);
    assert!(failure.message.len() >= PluginFailure::MAX_MESSAGE_BYTES - 1);
    assert_eq!(
        alloc::string::ToString::to_string(&PluginFailure::bad_request("x")),
        "bad-request: x"
    );
}

#[test]
fn manifest_is_serde_too() {
    let manifest = crate::Manifest::parse("abi=1\nname=a\nversion=1\nkind=dns\ngrant=fs.read=/z\n")
        .expect("valid");
    let bytes = postcard::to_allocvec(&manifest).expect("encode");
    assert_eq!(
        postcard::from_bytes::<crate::Manifest>(&bytes).expect("decode"),
        manifest
    );
    // The protocol is the last field: the fields before it encode as before.
    assert_eq!(
        bytes,
        [
            1, 1, b'a', 1, b'1', 2, 1, 7, b'f', b's', b'.', b'r', b'e', b'a', b'd', 2, b'/', b'z',
            0
        ]
    );
    let manifest = crate::Manifest::parse(
        "abi=2\nname=a\nversion=1\nkind=dns\nprotocol=update-txt\ngrant=fs.read=/z\n",
    )
    .expect("valid");
    let bytes = postcard::to_allocvec(&manifest).expect("encode");
    assert_eq!(bytes[0], 2);
    assert_eq!(bytes[bytes.len() - 2..], [1, 5]);
    assert_eq!(
        postcard::from_bytes::<crate::Manifest>(&bytes).expect("decode"),
        manifest
    );
}

#[test]
fn protocol_indices_are_pinned() {
    use crate::Protocol;
    for (index, protocol) in Protocol::ALL.into_iter().enumerate() {
        check(protocol, &[index as u8]);
    }
}

#[test]
fn acme_messages() {
    use crate::acme::{AcmeRequest, AcmeResponse, ChallengeKind, ChallengeTask};
    check(
        AcmeRequest {
            directory_url: s("d"),
            csr_pem: s("c"),
            identifiers: vec![s("i")],
            challenge: ChallengeKind::Dns01,
            contact: vec![],
            terms_of_service_agreed: true,
            order_url: Some(s("o")),
        },
        &[1, b'd', 1, b'c', 1, 1, b'i', 1, 0, 1, 1, 1, b'o'],
    );
    check(
        AcmeResponse::Challenges {
            order_url: s("o"),
            challenges: vec![ChallengeTask {
                identifier: s("i"),
                kind: ChallengeKind::Http01,
                token: s("t"),
                key_authorization: s("k"),
                name: s("n"),
                value: s("v"),
            }],
        },
        &[
            0, 1, b'o', 1, 1, b'i', 0, 1, b't', 1, b'k', 1, b'n', 1, b'v',
        ],
    );
    check(
        AcmeResponse::Pending {
            order_url: s("o"),
            retry_after_seconds: 300,
        },
        &[1, 1, b'o', 0xac, 0x02],
    );
    check(
        AcmeResponse::Issued {
            order_url: s("o"),
            chain_pem: s("p"),
        },
        &[2, 1, b'o', 1, b'p'],
    );
    assert_eq!(ChallengeKind::Dns01.as_str(), "dns-01");
    assert_eq!(ChallengeKind::Http01.as_str(), "http-01");
}
