mod bounded;
use bounded::*;
use pluginhost::*;

fn loop_wat(imports: &str, body: &str, n: u32) -> String {
    format!(
        r#"(module
    {imports}
    (memory (export "memory") 1)
    (func (export "run") (result i32)
        (local $i i32)
        (block $done (loop $next
            (br_if $done (i32.ge_u (local.get $i) (i32.const {n})))
            {body}
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (i32.const 0)))"#
    )
}

#[test]
fn probe() {
    let host = Host::new(HostConfig::default().with_fuel(1_000_000_000));
    let grant = Grant::new(&Capability::ALL);
    let fuel = |imports: &str, body: &str, n| {
        let mut p = host
            .load(&wasm(&loop_wat(imports, body, n)), grant.clone())
            .unwrap();
        host.call(&mut p, "run", b"").unwrap().fuel_used
    };
    let per =
        |imports: &str, body: &str| (fuel(imports, body, 200) - fuel(imports, body, 100)) / 100;
    let empty = per("", "");
    eprintln!("empty per iter {empty}");
    for f in HOST_FUNCTIONS {
        let params = "(param i32)".repeat(f.params);
        let import = format!(
            r#"(import "pluginhost" "{}" (func $f {params} (result i32)))"#,
            f.name
        );
        let args = "(i32.const 70000)".repeat(f.params);
        let drops = "(drop (i32.const 70000))".repeat(f.params);
        let call = per(&import, &format!("(drop (call $f {args}))"));
        let dropl = per(&import, &drops);
        eprintln!("{:14} params {} base {:6} call-empty {:6} call-drop {:6} overhead vs empty {} vs drop {}", f.name, f.params, f.base_fuel, call - empty, call - dropl, (call-empty) as i64 - f.base_fuel as i64, (call-dropl) as i64 - f.base_fuel as i64);
    }
}
