//! Hand-encoded wasm modules, for sizes a WAT parser would take seconds over.

fn leb_u32(mut n: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn section(id: u8, body: &[u8], out: &mut Vec<u8>) {
    out.push(id);
    leb_u32(u32::try_from(body.len()).expect("section fits u32"), out);
    out.extend_from_slice(body);
}

/// A valid module with `count` functions of type `() -> ()`, each body `nops` `nop`s and `end`
/// (with `nops == 0`, empty bodies).
pub fn many_functions_module(count: u32, nops: u32) -> Vec<u8> {
    let mut out = b"\0asm\x01\0\0\0".to_vec();
    // Type section: one type, () -> ().
    section(1, &[1, 0x60, 0, 0], &mut out);
    // Function section: `count` functions of type 0.
    let mut funcs = Vec::with_capacity(count as usize + 5);
    leb_u32(count, &mut funcs);
    funcs.resize(funcs.len() + count as usize, 0);
    section(3, &funcs, &mut out);
    // Code section: each body is its size, no local declarations, the nops and `end`.
    let mut body = Vec::new();
    body.push(0);
    body.resize(1 + nops as usize, 0x01);
    body.push(0x0b);
    let mut code = Vec::with_capacity((body.len() + 1) * count as usize + 5);
    leb_u32(count, &mut code);
    for _ in 0..count {
        leb_u32(u32::try_from(body.len()).expect("body fits u32"), &mut code);
        code.extend_from_slice(&body);
    }
    section(10, &code, &mut out);
    out
}

/// `module` with a custom section of `len` bytes appended.
pub fn with_custom_section(mut module: Vec<u8>, len: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(len + 8);
    body.push(4);
    body.extend_from_slice(b"junk");
    body.resize(len, 0xAA);
    section(0, &body, &mut module);
    module
}

/// `module` with a custom section `name` holding `data` appended (e.g. a manifest).
pub fn with_named_section(mut module: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(name.len() + data.len() + 5);
    leb_u32(u32::try_from(name.len()).expect("name fits u32"), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    section(0, &body, &mut module);
    module
}
