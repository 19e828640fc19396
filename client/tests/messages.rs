//! The client's codecs against the table of realtime messages
//! (`kairos_schema::messages`): every client message the table lists
//! encodes on each wire to what the server decodes as sent, every server
//! message Kairos models decodes back as the server meant, and every
//! other message is reported by its name.

use bytes::Bytes;
use kairos_client::codec::{Decoded, ServerMessage, Wire};
use kairos_client::rtapi::{Envelope, Incoming, Outgoing};
use kairos_schema::messages::MESSAGES;
use kairos_schema::{flat, proto};
use prost::Message as _;

const WIRES: [Wire; 3] = [Wire::Json, Wire::Protobuf, Wire::FlatBuffers];

#[test]
fn every_client_message_encodes_as_the_server_reads_it() {
    for m in MESSAGES.iter().filter(|m| m.direction.from_client()) {
        let message = Incoming::empty(m.name).unwrap();
        for wire in WIRES {
            let frame = wire.encode_request("3", &message);
            let decoded = match wire {
                Wire::Json => Envelope::from_json(&frame),
                Wire::Protobuf => proto::decode(&Bytes::from(frame)),
                Wire::FlatBuffers => flat::decode(&Bytes::from(frame)),
            };
            assert_eq!(
                decoded,
                Ok(Envelope {
                    cid: "3".into(),
                    message: message.clone()
                }),
                "{wire:?} {}",
                m.name
            );
        }
    }
}

#[test]
fn every_server_message_decodes_by_its_name() {
    for m in MESSAGES {
        let frames = match Outgoing::empty(m.name) {
            Some(message) => [
                message.to_json("4"),
                proto::encode("4", &message),
                flat::encode("4", &message),
            ],
            None => [
                format!(r#"{{"cid":"4","{}":{{}}}}"#, m.name).into_bytes(),
                proto::Envelope {
                    cid: "4".into(),
                    message: proto::Message::empty(m.name),
                }
                .encode_to_vec(),
                planus::Builder::new()
                    .finish(
                        flat::fb::Envelope {
                            cid: Some("4".into()),
                            message: flat::empty_message(m.name),
                        },
                        None,
                    )
                    .to_vec(),
            ],
        };
        for (wire, frame) in WIRES.into_iter().zip(frames) {
            let decoded = wire
                .decode(&frame)
                .unwrap_or_else(|e| panic!("{wire:?} {}: {e}", m.name));
            let want = match Outgoing::empty(m.name) {
                Some(message) => Decoded::Message(ServerMessage {
                    cid: "4".into(),
                    message: Some(message),
                }),
                None => Decoded::Unknown {
                    cid: "4".into(),
                    name: m.name.into(),
                },
            };
            assert_eq!(decoded, want, "{wire:?}");
        }
    }
}
