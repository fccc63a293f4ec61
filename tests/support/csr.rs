//! Certificate signing requests, as a device makes them for its CA plugin.

/// A new device key and a CSR (PEM) for `names`, the first of which is the common name.
pub fn key_and_csr(names: &[&str]) -> (rcgen::KeyPair, String) {
    let key = rcgen::KeyPair::generate().expect("device key");
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("CSR params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, names[0]);
    let csr = params
        .serialize_request(&key)
        .expect("CSR")
        .pem()
        .expect("CSR PEM");
    (key, csr)
}
