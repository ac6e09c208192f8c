//! Layering rules for scanner-core's own module tree (`scanner-core/src`), checked on the
//! source with a real Rust parser (`syn`) so that they cannot break silently.
//!
//! # The model
//!
//! * **Nodes** are the module files below the source root: `a.rs` or `a/mod.rs` is `a`,
//!   `a/b.rs` or `a/b/mod.rs` is `a::b`. The crate root (`lib.rs`) is not a node, and an
//!   inline `mod x { ... }` belongs to the node of its file.
//! * **Edges**: a node depends on another when its source names it through a path: in `use`
//!   trees (groups and globs flattened, `use crate::record::{fields::DeviceText, AssetRecord}`
//!   names `record::fields` and `record`), expression, type and pattern paths, impl headers
//!   and `extern crate`. `crate::` paths are absolute; `self::` and `super::` are resolved
//!   from the module the path sits in (inline modules count, so `super::` inside
//!   `mod tests` of `a/b.rs` is `a::b`). A resolved path depends on the **longest prefix that
//!   is a node** (`crate::protocols::modbus::codec::parse` → `protocols::modbus::codec`,
//!   `crate::record::AssetRecord` → `record`). A path into the crate root goes through the
//!   root's own `use` items (`crate::ScanConfig` → `config::ScanConfig`); any other root item
//!   is no edge. Self-edges are dropped; a `mod` declaration is no edge; neither are
//!   attributes (doc links included) nor `pub(in path)` visibilities.
//! * **Macros** are token streams. The path of a macro invocation
//!   (`crate::protocols::registry!(...)`) is no edge. Inside every token stream (macro_rules
//!   bodies and invocations such as `tokio::select!` or `format!`) the paths are read from
//!   the tokens: `crate::a::b` (and `$crate::a::b`) with two or more segments, `use`-style
//!   groups included, are edges like any other path (a path followed by `!` is a macro call
//!   and is not). A `$placeholder` segment stands for every folder module (`<dir>/mod.rs`)
//!   directly below the segments before it: `crate::protocols::$module::details::X` in a
//!   registry macro is an edge to `protocols::<p>::details` for every protocol folder `<p>`
//!   (to the prefix itself when it has no folder module below it).
//! * **Test code** (items carrying `#[cfg(test)]`, `#[cfg(all(test, ...))]`, `#[test]` or
//!   `#[<runtime>::test]`, the modules declared by such items and files with `#![cfg(test)]`)
//!   is left out of the graph, and so of rules 1 and 2, but not of rule 3.
//!
//! # The rules (each a test on the real tree)
//!
//! 1. The graph is acyclic.
//! 2. No module under `protocols` (`protocols` itself included, any depth) depends on `engine`
//!    or a module below it.
//! 3. Codec-level files, every file of a protocol folder `src/protocols/<name>/` but its
//!    `mod.rs`, `details.rs` and `probe.rs` (so `codec.rs` and sub-format files such as
//!    `ber.rs`), name no I/O, test code included: no `tokio`, `futures`, `socket2`,
//!    `std::net::TcpStream`, `std::net::UdpSocket`, `crate::session`, `crate::engine`,
//!    `crate::pacing`, `crate::config`, `crate::request`, their own folder's `probe`, nor
//!    `crate::record` other than `crate::record::fields`. Attributes (`#[tokio::test]`) and
//!    macro names (`tokio::select!`) count here.
//! 4. Every protocol folder (each directory directly in `src/protocols/`) has `mod.rs`,
//!    `codec.rs`, `details.rs` and `probe.rs`; other files are allowed.
//! 5. The only `.rs` files directly in `src/protocols/` are `mod.rs` (the registry), `wire.rs`
//!    and `probe.rs` (the shared probe contract): protocol code lives in folders.
//!
//! # Limits of the path resolution
//!
//! Names are not type-checked: a path through a re-export (`pub use`) depends on the module
//! that re-exports it, not on the item's origin (except through the crate root, see above);
//! a bare path is not resolved, so a parent naming its child without `self::`
//! (`ecs::encode(..)` or `use ecs::encode;` in `output/mod.rs`) is no edge, nor is a name
//! brought in by `use` and then used bare (`use std::net; net::TcpStream`) seen beyond its
//! `use`; a `use` of a macro re-exported by name is an edge; `self::`/`super::`
//! inside a `macro_rules!` body resolve where the macro is defined, not where it expands;
//! `#[path]` attributes and `include!` are not followed.
//!
//! The checker (`check`) runs on any directory; the tests below run it on synthetic trees to
//! check the checker, and on `scanner-core/src` for the rules themselves.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::{Delimiter, Spacing, Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Attribute, ImplItem, Item, Meta, TraitItem, UseTree};

/// A module's path below the crate root, e.g. `["protocols", "modbus", "codec"]`.
type ModPath = Vec<String>;

/// `"a::b"` as a [`ModPath`].
fn module(text: &str) -> ModPath {
    text.split("::").map(str::to_owned).collect()
}

/// A module path as Rust writes it (`crate` for the root).
fn show(m: &[String]) -> String {
    if m.is_empty() {
        "crate".to_owned()
    } else {
        m.join("::")
    }
}

fn line_of(span: Span) -> usize {
    span.start().line
}

// ---------------------------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------------------------

/// Where a path stands and how it was written, for failure messages.
#[derive(Debug, Clone)]
struct Evidence {
    /// `src/engine.rs:12`.
    at: String,
    /// The path as written (a `use` group flattened to one leaf).
    written: String,
}

/// Modules and their dependencies (test code left out).
#[derive(Debug, Default)]
struct Graph {
    /// Every node and its file, relative to the source root.
    nodes: BTreeMap<ModPath, PathBuf>,
    /// `from → to → where from names to`.
    edges: BTreeMap<ModPath, BTreeMap<ModPath, Vec<Evidence>>>,
}

impl Graph {
    fn has_edge(&self, from: &str, to: &str) -> bool {
        self.edges
            .get(&module(from))
            .is_some_and(|tos| tos.contains_key(&module(to)))
    }

    /// Every edge as `a -> b`, sorted.
    fn edge_list(&self) -> Vec<String> {
        self.edges
            .iter()
            .flat_map(|(from, tos)| {
                tos.keys()
                    .map(move |to| format!("{} -> {}", show(from), show(to)))
            })
            .collect()
    }

    fn successors(&self, m: &ModPath) -> impl Iterator<Item = &ModPath> {
        self.edges.get(m).into_iter().flat_map(BTreeMap::keys)
    }

    /// The modules reachable from `start` through one edge or more.
    fn reachable(&self, start: &ModPath) -> BTreeSet<&ModPath> {
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<&ModPath> = self.successors(start).collect();
        while let Some(m) = queue.pop_front() {
            if seen.insert(m) {
                queue.extend(self.successors(m));
            }
        }
        seen
    }

    /// The shortest cycle through `start` inside `within`, as `[start, ..., last]` (the edge
    /// back to `start` implied).
    fn shortest_cycle(&self, start: &ModPath, within: &BTreeSet<&ModPath>) -> Option<Vec<ModPath>> {
        let mut parent: BTreeMap<&ModPath, &ModPath> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(m) = queue.pop_front() {
            for next in self.successors(m).filter(|n| within.contains(n)) {
                if next == start {
                    let mut cycle = vec![m.clone()];
                    let mut at = m;
                    while at != start {
                        at = parent[at];
                        cycle.push(at.clone());
                    }
                    cycle.reverse();
                    return Some(cycle);
                }
                if !parent.contains_key(next) {
                    parent.insert(next, m);
                    queue.push_back(next);
                }
            }
        }
        None
    }

    /// For every strongly connected set of modules, the shortest cycle through each of its
    /// members (duplicates removed), each rotated to start at its smallest module.
    fn cycles(&self) -> Vec<Vec<ModPath>> {
        let reach: BTreeMap<&ModPath, BTreeSet<&ModPath>> =
            self.nodes.keys().map(|m| (m, self.reachable(m))).collect();
        let mut done = BTreeSet::new();
        let mut cycles = Vec::new();
        for m in self.nodes.keys() {
            if done.contains(m) || !reach[m].contains(m) {
                continue;
            }
            let component: BTreeSet<&ModPath> = reach[m]
                .iter()
                .copied()
                .filter(|other| reach[other].contains(m))
                .collect();
            for member in &component {
                let Some(mut cycle) = self.shortest_cycle(member, &component) else {
                    continue;
                };
                let smallest = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap_or(0);
                cycle.rotate_left(smallest);
                if !cycles.contains(&cycle) {
                    cycles.push(cycle);
                }
            }
            done.extend(component.into_iter().cloned());
        }
        cycles
    }

    /// `a -> b -> a`, then where each edge of the cycle is named.
    fn describe_cycle(&self, cycle: &[ModPath]) -> String {
        let mut names: Vec<String> = cycle.iter().map(|m| show(m)).collect();
        names.push(show(&cycle[0]));
        let mut text = names.join(" -> ");
        for (i, from) in cycle.iter().enumerate() {
            let to = &cycle[(i + 1) % cycle.len()];
            let evidence = &self.edges[from][to];
            text.push_str(&format!("\n    {} -> {}:", show(from), show(to)));
            for ev in evidence.iter().take(3) {
                text.push_str(&format!(" {} `{}`;", ev.at, ev.written));
            }
            if evidence.len() > 3 {
                text.push_str(&format!(" and {} more", evidence.len() - 3));
            }
        }
        text
    }
}

/// What [`check`] found: the graph, and one list of problems per rule.
#[derive(Debug, Default)]
struct Report {
    graph: Graph,
    /// Files that could not be read or parsed, and modules with two files: every rule fails
    /// with these, since the checker could not see the whole tree.
    errors: Vec<String>,
    /// Rule 1: one entry per cycle, `a -> b -> c -> a` then the paths naming each edge.
    cycles: Vec<String>,
    /// Rule 2: paths from a `protocols` module into `engine`.
    protocols_to_engine: Vec<String>,
    /// Rule 3: names in codec-level files that they must not use.
    codec_level: Vec<String>,
    /// Rule 4: protocol folders without one of the four standard files.
    folder_shape: Vec<String>,
    /// Rule 5: `.rs` files directly in `protocols/` other than the shared ones.
    loose_protocol_files: Vec<String>,
}

/// A path as written, before resolution.
#[derive(Debug, Clone)]
struct RawPath {
    /// Starts with `::`.
    global: bool,
    /// Segments; a macro_rules placeholder is `$name` (`$crate` is `crate`).
    segs: Vec<String>,
    /// A `use` glob: `segs::*`.
    glob: bool,
    line: usize,
}

impl RawPath {
    fn written(&self) -> String {
        let mut text = if self.global {
            "::".to_owned()
        } else {
            String::new()
        };
        text.push_str(&self.segs.join("::"));
        if self.glob {
            text.push_str("::*");
        }
        text
    }
}

/// What a path names after resolution.
#[derive(Debug, Clone, PartialEq)]
enum Resolved {
    /// A path from the crate root (`crate::a::b` is `["a", "b"]`).
    Crate(Vec<String>),
    /// Anything else: another crate, the prelude, a local or generic name.
    Extern(Vec<String>),
}

/// Where a path was found.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Use,
    Path,
    /// A path read from a macro's tokens.
    Tokens,
    /// The path of a macro invocation: no edge.
    MacroName,
    /// A path in an attribute: no edge.
    Attribute,
}

impl Kind {
    fn is_edge(self) -> bool {
        matches!(self, Kind::Use | Kind::Path | Kind::Tokens)
    }
}

/// One path found in a file.
#[derive(Debug)]
struct Ref {
    kind: Kind,
    in_test: bool,
    line: usize,
    written: String,
    /// Its first segment is a crate name rather than maybe a local variable: a `use`, a
    /// `::`-rooted path or one with two segments or more.
    names_a_crate: bool,
    targets: Vec<Resolved>,
}

/// The modules that `items` declare (`mod x;` or `mod x { ... }`).
fn declared_mods(items: &[Item]) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Mod(m) => Some(m.ident.unraw().to_string()),
            _ => None,
        })
        .collect()
}

/// The module files and the crate root's names, for resolving paths.
struct Tree {
    nodes: BTreeMap<ModPath, PathBuf>,
    /// Names the crate root brings in with `use`, resolved.
    root_names: BTreeMap<String, Resolved>,
}

impl Tree {
    /// The longest prefix of `path` that is a node.
    fn node_of(&self, path: &[String]) -> Option<&ModPath> {
        (1..=path.len())
            .rev()
            .find_map(|k| self.nodes.get_key_value(&path[..k]).map(|(m, _)| m))
    }

    /// The folder modules (`<dir>/mod.rs`) directly below `parent`.
    fn folder_children<'a>(&'a self, parent: &'a [String]) -> impl Iterator<Item = &'a ModPath> {
        self.nodes.iter().filter_map(move |(m, file)| {
            (m.len() == parent.len() + 1 && m.starts_with(parent) && file.ends_with("mod.rs"))
                .then_some(m)
        })
    }

    /// Resolves `raw` as written in module `scope`. `children`, for the crate root only, are
    /// the modules a bare first segment may name (`pub use config::ScanConfig` in `lib.rs`);
    /// elsewhere a bare path is not resolved (see the limits above).
    fn resolve(
        &self,
        raw: &RawPath,
        scope: &[String],
        children: Option<&BTreeSet<String>>,
    ) -> Vec<Resolved> {
        let segs = &raw.segs;
        let Some(first) = segs.first() else {
            return Vec::new();
        };
        if raw.global {
            return vec![Resolved::Extern(segs.clone())];
        }
        let (mut path, rest) = match first.as_str() {
            "crate" => (Vec::new(), &segs[1..]),
            "self" | "super" => {
                let mut base = scope.to_vec();
                let mut k = usize::from(first == "self");
                while segs.get(k).is_some_and(|s| s == "super") {
                    if base.pop().is_none() {
                        return Vec::new();
                    }
                    k += 1;
                }
                (base, &segs[k..])
            }
            name if children.is_some_and(|c| c.contains(name)) => (scope.to_vec(), &segs[..]),
            name if name.starts_with('$') => return Vec::new(),
            _ => return vec![Resolved::Extern(segs.clone())],
        };
        path.extend(rest.iter().cloned());
        self.expand(path, 0)
    }

    /// Expands `$placeholder` segments over the folder modules, and follows the crate root's
    /// `use` names.
    fn expand(&self, path: Vec<String>, depth: usize) -> Vec<Resolved> {
        if let Some(k) = path.iter().position(|s| s.starts_with('$')) {
            let children: Vec<&ModPath> = self.folder_children(&path[..k]).collect();
            if children.is_empty() {
                return vec![Resolved::Crate(path[..k].to_vec())];
            }
            return children
                .into_iter()
                .flat_map(|child| {
                    let mut full = child.clone();
                    full.extend_from_slice(&path[k + 1..]);
                    self.expand(full, depth)
                })
                .collect();
        }
        if self.node_of(&path).is_none() && depth < 8 {
            if let Some(target) = path.first().and_then(|name| self.root_names.get(name)) {
                return match target {
                    Resolved::Crate(p) => self.expand([&p[..], &path[1..]].concat(), depth + 1),
                    Resolved::Extern(p) => vec![Resolved::Extern([&p[..], &path[1..]].concat())],
                };
            }
        }
        vec![Resolved::Crate(path)]
    }
}

/// `#[test]`, `#[tokio::test]`, `#[cfg(test)]` or `#[cfg(all(test, ...))]`.
fn is_test_attr(attr: &Attribute) -> bool {
    let path = attr.path();
    if path.segments.last().is_some_and(|s| s.ident == "test") {
        return true;
    }
    path.is_ident("cfg") && attr.parse_args::<Meta>().is_ok_and(|m| cfg_is_test(&m))
}

fn cfg_is_test(meta: &Meta) -> bool {
    match meta {
        Meta::Path(p) => p.is_ident("test"),
        Meta::List(list) if list.path.is_ident("all") => list
            .parse_args_with(Punctuated::<Meta, syn::Token![,]>::parse_terminated)
            .is_ok_and(|all| all.iter().any(cfg_is_test)),
        _ => false,
    }
}

fn item_attrs(item: &Item) -> &[Attribute] {
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

fn impl_item_attrs(item: &ImplItem) -> &[Attribute] {
    match item {
        ImplItem::Const(i) => &i.attrs,
        ImplItem::Fn(i) => &i.attrs,
        ImplItem::Type(i) => &i.attrs,
        ImplItem::Macro(i) => &i.attrs,
        _ => &[],
    }
}

fn trait_item_attrs(item: &TraitItem) -> &[Attribute] {
    match item {
        TraitItem::Const(i) => &i.attrs,
        TraitItem::Fn(i) => &i.attrs,
        TraitItem::Type(i) => &i.attrs,
        TraitItem::Macro(i) => &i.attrs,
        _ => &[],
    }
}

fn raw_of_path(path: &syn::Path) -> RawPath {
    RawPath {
        global: path.leading_colon.is_some(),
        segs: path
            .segments
            .iter()
            .map(|s| s.ident.unraw().to_string())
            .collect(),
        glob: false,
        line: path.segments.first().map_or(0, |s| line_of(s.ident.span())),
    }
}

/// The leaves of a `use` tree, each with the name it binds (none for a glob).
fn use_leaves(tree: &UseTree, global: bool) -> Vec<(RawPath, Option<String>)> {
    fn walk(
        tree: &UseTree,
        prefix: &mut Vec<String>,
        global: bool,
        out: &mut Vec<(RawPath, Option<String>)>,
    ) {
        let leaf = |prefix: &[String], ident: &syn::Ident, binding: &syn::Ident| {
            let mut segs = prefix.to_vec();
            let is_self = ident == "self" && !segs.is_empty();
            if !is_self {
                segs.push(ident.unraw().to_string());
            }
            let name = if is_self && binding == "self" {
                segs.last().cloned()
            } else {
                Some(binding.unraw().to_string())
            };
            let line = line_of(ident.span());
            (
                RawPath {
                    global,
                    segs,
                    glob: false,
                    line,
                },
                name,
            )
        };
        match tree {
            UseTree::Path(p) => {
                prefix.push(p.ident.unraw().to_string());
                walk(&p.tree, prefix, global, out);
                prefix.pop();
            }
            UseTree::Name(n) => out.push(leaf(prefix, &n.ident, &n.ident)),
            UseTree::Rename(r) => out.push(leaf(prefix, &r.ident, &r.rename)),
            UseTree::Glob(g) => out.push((
                RawPath {
                    global,
                    segs: prefix.clone(),
                    glob: true,
                    line: line_of(g.star_token.spans[0]),
                },
                None,
            )),
            UseTree::Group(g) => {
                for item in &g.items {
                    walk(item, prefix, global, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(tree, &mut Vec::new(), global, &mut out);
    out
}

/// A path read from a token stream.
struct TokenPath {
    raw: RawPath,
    /// Followed by `!`: the name of a macro invocation.
    macro_call: bool,
}

fn is_punct(token: Option<&TokenTree>, ch: char) -> bool {
    matches!(token, Some(TokenTree::Punct(p)) if p.as_char() == ch)
}

fn colon2_at(toks: &[TokenTree], i: usize) -> bool {
    matches!(toks.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ':' && p.spacing() == Spacing::Joint)
        && is_punct(toks.get(i + 1), ':')
}

/// The path segment at `i` (an identifier, or a `$name` placeholder; `$crate` is `crate`) and
/// how many tokens it takes.
fn segment_at(toks: &[TokenTree], i: usize) -> Option<(String, usize)> {
    match toks.get(i)? {
        TokenTree::Ident(id) => Some((id.unraw().to_string(), 1)),
        TokenTree::Punct(p) if p.as_char() == '$' => match toks.get(i + 1)? {
            TokenTree::Ident(id) if id == "crate" => Some(("crate".to_owned(), 2)),
            TokenTree::Ident(id) => Some((format!("${}", id.unraw()), 2)),
            _ => None,
        },
        _ => None,
    }
}

fn path_starts(toks: &[TokenTree], i: usize) -> bool {
    segment_at(toks, i).is_some()
        || (colon2_at(toks, i)
            && segment_at(toks, i + 2).is_some()
            && !(i > 0 && is_punct(toks.get(i - 1), '>')))
}

/// Every path in a token stream, groups included.
fn token_paths(tokens: TokenStream, out: &mut Vec<TokenPath>) {
    let toks: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < toks.len() {
        if path_starts(&toks, i) {
            i = read_path(&toks, i, &[], out);
        } else {
            if let TokenTree::Group(g) = &toks[i] {
                token_paths(g.stream(), out);
            }
            i += 1;
        }
    }
}

/// Reads the path at `i` (continuing `prefix` inside a `use`-style `{...}` group), pushes it
/// (or each leaf of `a::{b, c::*}`) to `out` and returns the index after it.
fn read_path(toks: &[TokenTree], i: usize, prefix: &[String], out: &mut Vec<TokenPath>) -> usize {
    let line = line_of(toks[i].span());
    let global = prefix.is_empty() && colon2_at(toks, i);
    let mut j = if global { i + 2 } else { i };
    let mut segs = prefix.to_vec();
    let push = |segs: Vec<String>, glob: bool, macro_call: bool, out: &mut Vec<TokenPath>| {
        let raw = RawPath {
            global,
            segs,
            glob,
            line,
        };
        out.push(TokenPath { raw, macro_call });
    };
    while let Some((seg, len)) = segment_at(toks, j) {
        j += len;
        if !(seg == "self" && !prefix.is_empty() && segs.len() == prefix.len()) {
            segs.push(seg);
        }
        if !colon2_at(toks, j) {
            break;
        }
        match toks.get(j + 2) {
            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                for piece in split_commas(g.stream()) {
                    if path_starts(&piece, 0) {
                        read_path(&piece, 0, &segs, out);
                    } else if is_punct(piece.first(), '*') {
                        push(segs.clone(), true, false, out);
                    } else {
                        token_paths(piece.into_iter().collect(), out);
                    }
                }
                return j + 3;
            }
            Some(TokenTree::Punct(p)) if p.as_char() == '*' => {
                push(segs, true, false, out);
                return j + 3;
            }
            _ if segment_at(toks, j + 2).is_some() => j += 2,
            _ => break,
        }
    }
    let macro_call = matches!(toks.get(j), Some(TokenTree::Punct(p)) if p.as_char() == '!' && p.spacing() == Spacing::Alone);
    push(segs, false, macro_call, out);
    j
}

fn split_commas(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut pieces = vec![Vec::new()];
    for token in tokens {
        if is_punct(Some(&token), ',') {
            pieces.push(Vec::new());
        } else if let Some(last) = pieces.last_mut() {
            last.push(token);
        }
    }
    pieces.retain(|p| !p.is_empty());
    pieces
}

/// Collects the paths of one file.
struct Collector<'t> {
    tree: &'t Tree,
    /// The module of the file, then of each inline `mod` the visitor is in.
    scopes: Vec<ModPath>,
    test_depth: usize,
    refs: Vec<Ref>,
    /// Modules declared (`mod x;`) in test code.
    test_mods: Vec<ModPath>,
}

impl<'t> Collector<'t> {
    fn new(tree: &'t Tree, module: ModPath, file: &syn::File) -> Self {
        Collector {
            tree,
            scopes: vec![module],
            test_depth: usize::from(file.attrs.iter().any(is_test_attr)),
            refs: Vec::new(),
            test_mods: Vec::new(),
        }
    }

    fn scope(&self) -> &[String] {
        self.scopes.last().expect("the file's scope")
    }

    fn record(&mut self, raw: RawPath, kind: Kind) {
        let targets = self.tree.resolve(&raw, self.scope(), None);
        self.refs.push(Ref {
            kind,
            in_test: self.test_depth > 0,
            line: raw.line,
            written: raw.written(),
            names_a_crate: kind == Kind::Use || raw.global || raw.segs.len() >= 2,
            targets,
        });
    }

    /// Records the paths in `tokens` (two segments or more, or a glob) as `kind`, or as
    /// macro names when followed by `!`.
    fn record_tokens(&mut self, tokens: TokenStream, kind: Kind) {
        let mut found = Vec::new();
        token_paths(tokens, &mut found);
        for tp in found {
            if tp.raw.segs.len() >= 2 || tp.raw.glob {
                let kind = if tp.macro_call { Kind::MacroName } else { kind };
                self.record(tp.raw, kind);
            }
        }
    }

    /// Runs `f` with the test depth raised when `attrs` mark test code.
    fn with_attrs(&mut self, attrs: &[Attribute], f: impl FnOnce(&mut Self)) {
        let test = usize::from(attrs.iter().any(is_test_attr));
        self.test_depth += test;
        f(self);
        self.test_depth -= test;
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item(&mut self, item: &'ast Item) {
        self.with_attrs(item_attrs(item), |c| {
            if let Item::Verbatim(tokens) = item {
                c.record_tokens(tokens.clone(), Kind::Tokens);
            }
            visit::visit_item(c, item);
        });
    }

    fn visit_impl_item(&mut self, item: &'ast ImplItem) {
        self.with_attrs(impl_item_attrs(item), |c| visit::visit_impl_item(c, item));
    }

    fn visit_trait_item(&mut self, item: &'ast TraitItem) {
        self.with_attrs(trait_item_attrs(item), |c| visit::visit_trait_item(c, item));
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
        let mut module = self.scope().to_vec();
        module.push(item.ident.unraw().to_string());
        match &item.content {
            Some((_, items)) => {
                self.scopes.push(module);
                for inner in items {
                    self.visit_item(inner);
                }
                self.scopes.pop();
            }
            None if self.test_depth > 0 => self.test_mods.push(module),
            None => {}
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
        for (raw, _) in use_leaves(&item.tree, item.leading_colon.is_some()) {
            self.record(raw, Kind::Use);
        }
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        let raw = RawPath {
            global: false,
            segs: vec![item.ident.unraw().to_string()],
            glob: false,
            line: line_of(item.ident.span()),
        };
        self.record(raw, Kind::Use);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.record(raw_of_path(path), Kind::Path);
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.record(raw_of_path(&mac.path), Kind::MacroName);
        self.record_tokens(mac.tokens.clone(), Kind::Tokens);
    }

    fn visit_attribute(&mut self, attr: &'ast Attribute) {
        let raw = raw_of_path(attr.path());
        if raw.segs.len() >= 2 {
            self.record(raw, Kind::Attribute);
        }
        if let Meta::List(list) = &attr.meta {
            self.record_tokens(list.tokens.clone(), Kind::Attribute);
        }
    }

    fn visit_vis_restricted(&mut self, _: &'ast syn::VisRestricted) {}
}

/// The paths of one module file.
struct FileRefs {
    module: ModPath,
    rel: PathBuf,
    refs: Vec<Ref>,
}

/// `src/a/b.rs` (the source root's own name, then the path below it).
fn shown_file(src_root: &Path, rel: &Path) -> String {
    let root = src_root
        .file_name()
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    root.join(rel).display().to_string()
}

fn parse(src_root: &Path, rel: &Path) -> Result<syn::File, String> {
    let shown = shown_file(src_root, rel);
    let text =
        fs::read_to_string(src_root.join(rel)).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    syn::parse_file(&text).map_err(|e| format!("{shown}:{}: cannot parse: {e}", line_of(e.span())))
}

/// The `.rs` files below `root.join(rel_dir)`, relative to `root`, sorted.
fn rs_files(root: &Path, rel_dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<String>) {
    let entries = match fs::read_dir(root.join(rel_dir)) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(format!("{}: cannot list: {e}", shown_file(root, rel_dir)));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let Some(name) = path.file_name() else {
            continue;
        };
        let rel = rel_dir.join(name);
        if path.is_dir() {
            rs_files(root, &rel, out, errors);
        } else if rel.extension().is_some_and(|e| e == "rs") {
            out.push(rel);
        }
    }
}

/// `a.rs`, `a/mod.rs` → `a`; `a/b.rs`, `a/b/mod.rs` → `a::b`; none for the crate root.
fn module_of(rel: &Path) -> Option<ModPath> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop()?;
    if parts.is_empty() && (file == "lib.rs" || file == "main.rs") {
        return None;
    }
    if file != "mod.rs" {
        parts.push(file.strip_suffix(".rs")?.to_owned());
    }
    (!parts.is_empty()).then_some(parts)
}

/// Why a codec-level file of protocol `own` must not name `target`, if it must not.
fn forbidden_in_codec(target: &Resolved, own: &str, names_a_crate: bool) -> Option<String> {
    match target {
        Resolved::Extern(path) => {
            let segs: Vec<&str> = path.iter().map(String::as_str).collect();
            match segs.as_slice() {
                [c @ ("tokio" | "futures" | "socket2"), ..] if names_a_crate => {
                    Some(format!("`{c}`"))
                }
                ["std", "net", io @ ("TcpStream" | "UdpSocket"), ..] => {
                    Some(format!("`std::net::{io}`"))
                }
                _ => None,
            }
        }
        Resolved::Crate(path) => {
            let segs: Vec<&str> = path.iter().map(String::as_str).collect();
            match segs.as_slice() {
                [m @ ("session" | "engine" | "pacing" | "config" | "request"), ..] => {
                    Some(format!("`crate::{m}`"))
                }
                ["protocols", p, "probe", ..] if *p == own => Some(format!(
                    "its own folder's probe (`crate::protocols::{own}::probe`)"
                )),
                ["record", "fields", ..] => None,
                ["record", ..] => {
                    Some("`crate::record` (only `crate::record::fields` is allowed)".to_owned())
                }
                _ => None,
            }
        }
    }
}

/// Checks the module tree below `src_root` (a crate's `src`).
fn check(src_root: &Path) -> Report {
    let mut report = Report::default();
    let mut files = Vec::new();
    rs_files(src_root, Path::new(""), &mut files, &mut report.errors);
    let mut nodes = BTreeMap::new();
    for rel in files {
        let Some(m) = module_of(&rel) else { continue };
        if let Some(other) = nodes.insert(m.clone(), rel.clone()) {
            report.errors.push(format!(
                "module `{}` has two files: {} and {}",
                show(&m),
                shown_file(src_root, &other),
                shown_file(src_root, &rel)
            ));
        }
    }
    let mut tree = Tree {
        nodes,
        root_names: BTreeMap::new(),
    };

    // The crate root: the names its `use` items bring in, and its test-only modules.
    let mut test_mods: BTreeSet<ModPath> = BTreeSet::new();
    let root = ["lib.rs", "main.rs"]
        .into_iter()
        .map(Path::new)
        .find(|rel| src_root.join(rel).is_file());
    let root_file =
        root.and_then(|rel| parse(src_root, rel).map_err(|e| report.errors.push(e)).ok());
    if let Some(file) = &root_file {
        let children = declared_mods(&file.items);
        let mut names = BTreeMap::new();
        for item in &file.items {
            let Item::Use(u) = item else { continue };
            if u.attrs.iter().any(is_test_attr) {
                continue;
            }
            for (raw, name) in use_leaves(&u.tree, u.leading_colon.is_some()) {
                if let (Some(name), Some(target)) =
                    (name, tree.resolve(&raw, &[], Some(&children)).pop())
                {
                    names.insert(name, target);
                }
            }
        }
        tree.root_names = names;
        let mut collector = Collector::new(&tree, Vec::new(), file);
        collector.visit_file(file);
        test_mods.extend(collector.test_mods);
    }

    let mut parsed = Vec::new();
    for (m, rel) in &tree.nodes {
        match parse(src_root, rel) {
            Ok(file) => {
                let mut collector = Collector::new(&tree, m.clone(), &file);
                collector.visit_file(&file);
                if file.attrs.iter().any(is_test_attr) {
                    test_mods.insert(m.clone());
                }
                test_mods.extend(collector.test_mods);
                parsed.push(FileRefs {
                    module: m.clone(),
                    rel: rel.clone(),
                    refs: collector.refs,
                });
            }
            Err(e) => report.errors.push(e),
        }
    }

    // The graph, test code left out.
    let mut graph = Graph {
        nodes: tree.nodes.clone(),
        edges: BTreeMap::new(),
    };
    for file in &parsed {
        let test_file = (1..=file.module.len()).any(|k| test_mods.contains(&file.module[..k]));
        for r in file
            .refs
            .iter()
            .filter(|r| r.kind.is_edge() && !r.in_test && !test_file)
        {
            for target in &r.targets {
                let Resolved::Crate(path) = target else {
                    continue;
                };
                let Some(to) = tree.node_of(path) else {
                    continue;
                };
                if *to == file.module {
                    continue;
                }
                let evidence = Evidence {
                    at: format!("{}:{}", shown_file(src_root, &file.rel), r.line),
                    written: r.written.clone(),
                };
                let list = graph
                    .edges
                    .entry(file.module.clone())
                    .or_default()
                    .entry(to.clone())
                    .or_default();
                list.push(evidence);
            }
        }
    }

    // Rule 1.
    report.cycles = graph
        .cycles()
        .iter()
        .map(|c| graph.describe_cycle(c))
        .collect();

    // Rule 2.
    for (from, tos) in &graph.edges {
        if from.first().is_none_or(|s| s != "protocols") {
            continue;
        }
        for (to, evidence) in tos
            .iter()
            .filter(|(to, _)| to.first().is_some_and(|s| s == "engine"))
        {
            for ev in evidence {
                report.protocols_to_engine.push(format!(
                    "{}: `{}` depends on `{}` through `{}`",
                    ev.at,
                    show(from),
                    show(to),
                    ev.written
                ));
            }
        }
    }

    // Rule 3.
    for file in &parsed {
        let parts: Vec<String> = file
            .rel
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        let codec_level = parts.len() >= 3
            && parts[0] == "protocols"
            && !(parts.len() == 3
                && ["mod.rs", "details.rs", "probe.rs"].contains(&parts[2].as_str()));
        if !codec_level {
            continue;
        }
        let own = &parts[1];
        let mut seen = BTreeSet::new();
        for r in &file.refs {
            for target in &r.targets {
                let Some(why) = forbidden_in_codec(target, own, r.names_a_crate) else {
                    continue;
                };
                if !seen.insert((r.line, r.written.clone(), why.clone())) {
                    continue;
                }
                let resolved = match target {
                    Resolved::Crate(p) if format!("crate::{}", p.join("::")) != r.written => {
                        format!(" (that is `crate::{}`)", p.join("::"))
                    }
                    _ => String::new(),
                };
                report.codec_level.push(format!(
                    "{}:{}{}: codec-level file of `{own}` names `{}`{resolved}: {why} is off limits for codec-level files",
                    shown_file(src_root, &file.rel),
                    r.line,
                    if r.in_test { " (test code)" } else { "" },
                    r.written
                ));
            }
        }
    }

    // Rules 4 and 5.
    let protocols = src_root.join("protocols");
    if let Ok(entries) = fs::read_dir(&protocols) {
        let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            let shown = shown_file(src_root, &Path::new("protocols").join(&name));
            if path.is_dir() {
                let missing: Vec<&str> = ["mod.rs", "codec.rs", "details.rs", "probe.rs"]
                    .into_iter()
                    .filter(|f| !path.join(f).is_file())
                    .collect();
                if !missing.is_empty() {
                    report.folder_shape.push(format!(
                        "{shown}/: protocol folder lacks {} (every protocol folder has mod.rs, codec.rs, details.rs and probe.rs)",
                        missing.join(", ")
                    ));
                }
            } else if name.ends_with(".rs")
                && !["mod.rs", "wire.rs", "probe.rs"].contains(&name.as_str())
            {
                let folder = name.trim_end_matches(".rs");
                report.loose_protocol_files.push(format!(
                    "{shown}: protocol code lives in a folder (protocols/{folder}/ with mod.rs, codec.rs, details.rs, probe.rs); only mod.rs, wire.rs and probe.rs sit directly in protocols/"
                ));
            }
        }
    }

    report.graph = graph;
    report
}

/// Panics with every problem of `rule` (and every file the checker could not read).
fn assert_rule(rule: &str, report: &Report, problems: &[String]) {
    let all: Vec<&String> = report.errors.iter().chain(problems).collect();
    assert!(
        all.is_empty(),
        "{rule}: {} problem(s)\n\n{}\n",
        all.len(),
        all.iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The rules, on scanner-core/src
// ---------------------------------------------------------------------------------------------

fn real_tree() -> Report {
    check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn checker_reads_the_real_tree() {
    let report = real_tree();
    assert_rule("every file of scanner-core/src parses", &report, &[]);
    assert!(
        report.graph.nodes.len() > 5,
        "too few modules: {:?}",
        report.graph.nodes.keys()
    );
    assert!(
        !report.graph.edges.is_empty(),
        "no dependency found in scanner-core/src"
    );
}

#[test]
fn real_module_graph_is_acyclic() {
    let report = real_tree();
    assert_rule(
        "rule 1: the module graph of scanner-core/src has cycles",
        &report,
        &report.cycles,
    );
}

#[test]
fn real_protocols_do_not_depend_on_engine() {
    let report = real_tree();
    assert_rule(
        "rule 2: protocol modules depend on the engine",
        &report,
        &report.protocols_to_engine,
    );
}

#[test]
fn real_codec_level_files_do_no_io() {
    let report = real_tree();
    assert_rule(
        "rule 3: codec-level files name I/O or higher layers",
        &report,
        &report.codec_level,
    );
}

#[test]
fn real_protocol_folders_have_the_standard_shape() {
    let report = real_tree();
    assert_rule(
        "rule 4: protocol folders lack standard files",
        &report,
        &report.folder_shape,
    );
}

#[test]
fn real_protocol_code_lives_in_folders() {
    let report = real_tree();
    assert_rule(
        "rule 5: protocol code outside protocol folders",
        &report,
        &report.loose_protocol_files,
    );
}

// ---------------------------------------------------------------------------------------------
// The checker, on synthetic trees
// ---------------------------------------------------------------------------------------------

/// A source tree in a temporary directory, removed on drop.
struct TempTree {
    dir: PathBuf,
}

impl TempTree {
    /// Writes `files` (paths relative to the source root) below `<tmp>/.../src`.
    fn new(name: &str, files: &[(&str, &str)]) -> Self {
        let dir =
            std::env::temp_dir().join(format!("otscan-module-graph-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for (rel, text) in files {
            let path = dir.join("src").join(rel);
            fs::create_dir_all(path.parent().expect("a parent")).expect("create the tree");
            fs::write(&path, text).expect("write a file");
        }
        TempTree { dir }
    }

    fn check(&self) -> Report {
        check(&self.dir.join("src"))
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A complete protocol folder `protocols/<name>/` with empty codec, details and probe.
fn protocol_folder(name: &str) -> Vec<(String, String)> {
    ["mod.rs", "codec.rs", "details.rs", "probe.rs"]
        .into_iter()
        .map(|f| {
            let text = if f == "mod.rs" {
                "pub mod codec;\npub mod details;\npub mod probe;\n"
            } else {
                ""
            };
            (format!("protocols/{name}/{f}"), text.to_owned())
        })
        .collect()
}

/// [`TempTree::new`] with `files`, then `folders` as complete protocol folders unless `files`
/// already holds the same path.
fn tree_with_protocols(name: &str, folders: &[&str], files: &[(&str, &str)]) -> TempTree {
    let mut all: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect();
    for folder in folders {
        for (path, text) in protocol_folder(folder) {
            if !all.iter().any(|(p, _)| *p == path) {
                all.push((path, text));
            }
        }
    }
    let borrowed: Vec<(&str, &str)> = all.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    TempTree::new(name, &borrowed)
}

fn assert_clean(report: &Report) {
    let problems: Vec<String> = [
        &report.cycles,
        &report.protocols_to_engine,
        &report.codec_level,
        &report.folder_shape,
        &report.loose_protocol_files,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    assert_rule("a clean tree", report, &problems);
}

#[test]
fn checker_reports_a_cycle_with_its_path() {
    let tree = TempTree::new(
        "cycle",
        &[
            ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
            ("a.rs", "pub struct A;\npub fn f(_: crate::b::B) {}\n"),
            ("b.rs", "use crate::c::C;\npub struct B(C);\n"),
            ("c.rs", "pub struct C(super::a::A);\n"),
        ],
    );
    let report = tree.check();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.cycles.len(), 1, "{:#?}", report.cycles);
    let cycle = &report.cycles[0];
    assert_eq!(cycle.lines().next(), Some("a -> b -> c -> a"), "{cycle}");
    assert!(
        cycle.contains("a -> b: src/a.rs:2 `crate::b::B`"),
        "{cycle}"
    );
    assert!(
        cycle.contains("b -> c: src/b.rs:1 `crate::c::C`"),
        "{cycle}"
    );
    assert!(
        cycle.contains("c -> a: src/c.rs:1 `super::a::A`"),
        "{cycle}"
    );
}

#[test]
fn checker_passes_an_acyclic_tree_and_leaves_out_tests_attributes_and_macro_names() {
    let tree = TempTree::new(
        "acyclic",
        &[
            (
                "lib.rs",
                "pub mod a;\npub mod b;\npub mod c;\n#[cfg(test)]\nmod testutil;\n",
            ),
            ("a.rs", "use crate::b::B;\npub struct A(B, crate::c::C);\n"),
            ("b.rs", "pub struct B(pub crate::c::C);\npub fn b() -> self::B { crate::b::B(crate::c::C) }\n"),
            (
                "c.rs",
                r#"//! See [`A`](crate::a::A).
pub struct C;
#[doc = "crate::a::A"]
pub struct D;
#[cfg(test)]
mod tests {
    use crate::a::A;
    use super::super::b::B;
}
#[test]
fn t() {
    let _ = crate::a::A;
}
#[cfg(all(test, unix))]
impl C {
    fn x() -> crate::a::A { crate::a::A(crate::b::B(C), C) }
}
impl D {
    #[cfg(test)]
    fn y() -> crate::b::B { todo!() }
}
pub fn g() {
    crate::a::log!("x");
}
pub(in crate::c) fn h() {}
mod tests_module;
"#,
            ),
            ("c/tests_module.rs", "#![cfg(test)]\nuse crate::a::A;\n"),
            ("testutil.rs", "pub use crate::a::A;\n"),
        ],
    );
    let report = tree.check();
    assert_clean(&report);
    assert_eq!(report.graph.edge_list(), ["a -> b", "a -> c", "b -> c"]);
}

#[test]
fn crate_paths_inside_macro_invocations_are_edges() {
    let tree = TempTree::new(
        "tokens",
        &[
            (
                "a.rs",
                r#"pub async fn run() {
    tokio::select! {
        _ = crate::b::wait() => {}
    }
    let _ = format!("{}", crate::c::NAME);
    crate::d::log!("x");
    my_macro!(crate::e::{self, f::G});
}
"#,
            ),
            ("b.rs", ""),
            ("c.rs", ""),
            ("d.rs", ""),
            ("e/mod.rs", "pub mod f;\n"),
            ("e/f.rs", ""),
        ],
    );
    let report = tree.check();
    assert_clean(&report);
    assert_eq!(
        report.graph.edge_list(),
        ["a -> b", "a -> c", "a -> e", "a -> e::f"]
    );
}

#[test]
fn registry_placeholder_reaches_every_protocol_folder() {
    let tree = tree_with_protocols(
        "registry",
        &["modbus", "enip"],
        &[
            ("lib.rs", "pub mod output;\npub mod protocols;\npub mod record;\n"),
            (
                "protocols/mod.rs",
                r#"pub mod enip;
pub mod modbus;
mod wire;

/// One variant per protocol.
macro_rules! each_protocol {
    ($($module:ident),*) => {
        pub enum AnyDetails { $($module(crate::protocols::$module::details::Details)),* }
    };
}
each_protocol!(modbus, enip);

pub struct ProtocolSet;
"#,
            ),
            ("protocols/wire.rs", "macro_rules! probes { ($m:ident) => { $crate::protocols::$m::probe::run() }; }\n"),
            ("protocols/modbus/details.rs", "pub struct Details(pub crate::record::fields::DeviceText);\n"),
            ("protocols/enip/details.rs", "use crate::record::AssetRecord;\npub struct Details(AssetRecord);\n"),
            ("record/mod.rs", "pub mod fields;\npub struct AssetRecord { pub protocols: crate::protocols::ProtocolSet }\n"),
            ("record/fields.rs", "pub struct DeviceText(pub String);\n"),
            ("output.rs", "pub fn f() { crate::protocols::each_protocol!(modbus); }\n"),
        ],
    );
    let report = tree.check();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let g = &report.graph;
    for p in ["modbus", "enip"] {
        assert!(
            g.has_edge("protocols", &format!("protocols::{p}::details")),
            "{:?}",
            g.edge_list()
        );
        assert!(
            g.has_edge("protocols::wire", &format!("protocols::{p}::probe")),
            "{:?}",
            g.edge_list()
        );
        assert!(
            !g.has_edge("protocols", &format!("protocols::{p}")),
            "an ident list is no edge"
        );
    }
    assert!(
        !g.has_edge("output", "protocols"),
        "a macro's path is no edge"
    );
    assert_eq!(report.cycles.len(), 1, "{:#?}", report.cycles);
    assert_eq!(
        report.cycles[0].lines().next(),
        Some("protocols -> protocols::enip::details -> record -> protocols"),
        "{}",
        report.cycles[0]
    );
    assert!(report.cycles[0]
        .contains("src/protocols/mod.rs:8 `crate::protocols::$module::details::Details`"));
}

#[test]
fn protocol_module_importing_engine_breaks_rule_2() {
    let tree = tree_with_protocols(
        "engine",
        &["modbus"],
        &[
            (
                "lib.rs",
                "pub mod engine;\npub mod protocols;\npub use engine::Scan;\n",
            ),
            ("engine/mod.rs", "pub mod session;\npub struct Scan;\n"),
            ("engine/session.rs", "pub struct DeviceSession;\n"),
            (
                "protocols/mod.rs",
                "pub mod modbus;\npub fn start() -> crate::Scan { todo!() }\n",
            ),
            (
                "protocols/modbus/probe.rs",
                "use crate::engine::session::DeviceSession;\n",
            ),
        ],
    );
    let report = tree.check();
    assert!(report.cycles.is_empty() && report.errors.is_empty());
    assert_eq!(
        report.protocols_to_engine,
        [
            "src/protocols/mod.rs:2: `protocols` depends on `engine` through `crate::Scan`",
            "src/protocols/modbus/probe.rs:1: `protocols::modbus::probe` depends on `engine::session` through `crate::engine::session::DeviceSession`",
        ]
    );
}

#[test]
fn codec_with_tokio_in_its_tests_breaks_rule_3() {
    let tree = tree_with_protocols(
        "codec-tokio",
        &["modbus"],
        &[(
            "protocols/modbus/codec.rs",
            r#"pub fn parse(b: &[u8]) -> usize { b.len() }
#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;
    #[tokio::test]
    async fn reads() {
        let futures = 1;
        let _ = futures;
    }
}
"#,
        )],
    );
    let report = tree.check();
    assert_eq!(
        report.codec_level,
        [
            "src/protocols/modbus/codec.rs:4 (test code): codec-level file of `modbus` names `tokio::io::AsyncReadExt`: `tokio` is off limits for codec-level files",
            "src/protocols/modbus/codec.rs:5 (test code): codec-level file of `modbus` names `tokio::test`: `tokio` is off limits for codec-level files",
        ]
    );
    assert!(report.cycles.is_empty() && report.folder_shape.is_empty());
}

#[test]
fn codec_may_use_record_fields_but_not_record() {
    let record = [
        (
            "lib.rs",
            "pub mod protocols;\npub mod record;\npub use record::AssetRecord;\n",
        ),
        ("protocols/mod.rs", "pub mod modbus;\n"),
        (
            "record/mod.rs",
            "pub mod fields;\npub struct AssetRecord;\n",
        ),
        (
            "record/fields.rs",
            "pub struct DeviceText;\npub enum Status { Success }\n",
        ),
    ];
    let good_codec = [(
        "protocols/modbus/codec.rs",
        "use crate::record::fields::{DeviceText, Status};\npub fn s() -> Status { crate::record::fields::Status::Success }\n",
    )];
    let good = tree_with_protocols(
        "fields-ok",
        &["modbus"],
        &[&record[..], &good_codec[..]].concat(),
    );
    assert_clean(&good.check());

    let bad_codec = [(
        "protocols/modbus/codec.rs",
        "use crate::record::{fields::DeviceText, AssetRecord};\npub fn r() -> crate::AssetRecord { todo!() }\n",
    )];
    let bad = tree_with_protocols(
        "fields-bad",
        &["modbus"],
        &[&record[..], &bad_codec[..]].concat(),
    );
    let report = bad.check();
    assert_eq!(
        report.codec_level,
        [
            "src/protocols/modbus/codec.rs:1: codec-level file of `modbus` names `crate::record::AssetRecord`: `crate::record` (only `crate::record::fields` is allowed) is off limits for codec-level files",
            "src/protocols/modbus/codec.rs:2: codec-level file of `modbus` names `crate::AssetRecord` (that is `crate::record::AssetRecord`): `crate::record` (only `crate::record::fields` is allowed) is off limits for codec-level files",
        ]
    );
}

#[test]
fn codec_level_rule_covers_sub_format_files_and_token_streams() {
    let tree = tree_with_protocols(
        "codec-sub",
        &["snmp"],
        &[
            (
                "lib.rs",
                "pub mod engine;\npub mod protocols;\npub mod record;\n",
            ),
            ("engine.rs", ""),
            ("record.rs", "pub struct AssetRecord;\n"),
            ("protocols/mod.rs", "pub mod snmp;\n"),
            (
                "protocols/snmp/mod.rs",
                "pub mod ber;\npub mod codec;\npub mod details;\npub mod probe;\n",
            ),
            (
                "protocols/snmp/ber.rs",
                r#"use std::net::{Ipv4Addr, UdpSocket};
use super::probe::Probe;
pub fn f() -> String {
    format!("{:?}", socket2::Domain::IPV4)
}
pub fn g() {
    futures::select!(x = y => {});
    let _ = super::super::super::engine::run;
}
"#,
            ),
            (
                "protocols/snmp/probe.rs",
                "use tokio::net::UdpSocket;\nuse crate::engine::Session;\n",
            ),
            (
                "protocols/snmp/details.rs",
                "use crate::record::AssetRecord;\n",
            ),
        ],
    );
    let report = tree.check();
    let offenders: Vec<&str> = report
        .codec_level
        .iter()
        .map(|p| p.split(": codec-level").next().unwrap_or(p))
        .collect();
    assert_eq!(
        offenders,
        [
            "src/protocols/snmp/ber.rs:1",
            "src/protocols/snmp/ber.rs:2",
            "src/protocols/snmp/ber.rs:4",
            "src/protocols/snmp/ber.rs:7",
            "src/protocols/snmp/ber.rs:8",
        ],
        "{:#?}",
        report.codec_level
    );
    let all = report.codec_level.join("\n");
    for named in [
        "`std::net::UdpSocket`",
        "`super::probe::Probe` (that is `crate::protocols::snmp::probe::Probe`)",
        "`socket2::Domain::IPV4`",
        "`futures::select`",
        "`super::super::super::engine::run` (that is `crate::engine::run`)",
    ] {
        assert!(all.contains(named), "{named} not in\n{all}");
    }
}

#[test]
fn protocol_folder_missing_probe_breaks_rule_4() {
    let tree = tree_with_protocols(
        "shape",
        &["modbus"],
        &[
            ("protocols/mod.rs", "pub mod enip;\npub mod modbus;\n"),
            (
                "protocols/enip/mod.rs",
                "pub mod codec;\npub mod details;\npub mod tags;\n",
            ),
            ("protocols/enip/codec.rs", ""),
            ("protocols/enip/details.rs", ""),
            ("protocols/enip/tags.rs", ""),
        ],
    );
    let report = tree.check();
    assert_eq!(
        report.folder_shape,
        ["src/protocols/enip/: protocol folder lacks probe.rs (every protocol folder has mod.rs, codec.rs, details.rs and probe.rs)"]
    );
    assert!(report.loose_protocol_files.is_empty());
}

#[test]
fn protocol_file_outside_a_folder_breaks_rule_5() {
    let tree = tree_with_protocols(
        "loose",
        &["modbus"],
        &[
            (
                "protocols/mod.rs",
                "pub mod modbus;\npub mod probe;\npub mod s7;\nmod wire;\n",
            ),
            ("protocols/probe.rs", ""),
            ("protocols/wire.rs", ""),
            ("protocols/s7.rs", ""),
            ("protocols/README.md", "notes\n"),
        ],
    );
    let report = tree.check();
    assert_eq!(
        report.loose_protocol_files.len(),
        1,
        "{:#?}",
        report.loose_protocol_files
    );
    assert!(report.loose_protocol_files[0]
        .starts_with("src/protocols/s7.rs: protocol code lives in a folder"));
    assert!(report.folder_shape.is_empty());
}

#[test]
fn super_and_self_paths_resolve_from_the_module_they_sit_in() {
    let tree = tree_with_protocols(
        "super",
        &["modbus"],
        &[
            ("protocols/mod.rs", "pub mod modbus;\nmod wire;\npub use self::modbus::Identity;\n"),
            ("protocols/wire.rs", "pub struct Frame;\n"),
            (
                "protocols/modbus/mod.rs",
                "pub mod codec;\npub mod details;\npub mod probe;\nmod tags;\npub use self::details::Identity;\nuse super::wire::Frame;\n",
            ),
            (
                "protocols/modbus/codec.rs",
                r#"mod ber;
use super::details::Identity;
pub fn f(_: super::super::wire::Frame) {
    self::ber::parse();
}
mod inner {
    pub fn h(_: super::super::tags::Tag) {}
}
"#,
            ),
            ("protocols/modbus/codec/ber.rs", "pub fn parse() {}\nuse super::super::details::Identity;\n"),
            ("protocols/modbus/details.rs", "pub struct Identity;\n"),
            ("protocols/modbus/tags.rs", "pub struct Tag;\n"),
        ],
    );
    let report = tree.check();
    assert_clean(&report);
    assert_eq!(
        report.graph.edge_list(),
        [
            "protocols -> protocols::modbus",
            "protocols::modbus -> protocols::modbus::details",
            "protocols::modbus -> protocols::wire",
            "protocols::modbus::codec -> protocols::modbus::codec::ber",
            "protocols::modbus::codec -> protocols::modbus::details",
            "protocols::modbus::codec -> protocols::modbus::tags",
            "protocols::modbus::codec -> protocols::wire",
            "protocols::modbus::codec::ber -> protocols::modbus::details",
        ]
    );
}

#[test]
fn paths_resolve_to_the_longest_module_prefix() {
    let tree = TempTree::new(
        "prefix",
        &[
            ("a.rs", "pub fn f() { crate::protocols::modbus::codec::parse(); let _ = crate::record::AssetRecord; }\n"),
            ("protocols/mod.rs", "pub mod modbus;\n"),
            ("protocols/modbus/mod.rs", "pub mod codec;\n"),
            ("protocols/modbus/codec.rs", "pub fn parse() {}\n"),
            ("record.rs", "pub struct AssetRecord;\n"),
        ],
    );
    let report = tree.check();
    assert_eq!(
        report.graph.edge_list(),
        ["a -> protocols::modbus::codec", "a -> record"]
    );
}

#[test]
fn checker_reports_files_it_cannot_parse() {
    let tree = TempTree::new(
        "unparsable",
        &[("lib.rs", "pub mod a;\n"), ("a.rs", "pub fn (\n")],
    );
    let report = tree.check();
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(
        report.errors[0].starts_with("src/a.rs:1: cannot parse"),
        "{}",
        report.errors[0]
    );
}
