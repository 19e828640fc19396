//! What the test files that run the real server share.

use kairos_client::Client;
use kairos_tests::TestServer;
pub use kairos_tests::build_server_binary;

/// A client of `server`'s HTTP port, with the default server key.
pub fn client_of(server: &TestServer) -> Client {
    let (host, port) = server.addr.rsplit_once(':').expect("host:port");
    Client::new(host, port.parse().expect("port"), "defaultkey")
}
