//! The self-contained HTML report: per-output table, per-layer error plot (inline
//! SVG, error against depth, one line per precision), worst layers, and the plan.

use super::layers::worst_first;
use super::{LayerRow, MixedSearch, Validation};
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 1e-3 && x.abs() < 1e4 {
        format!("{x:.4}")
    } else {
        format!("{x:.3e}")
    }
}

/// Worst propagated `max_rel_error` per depth, for one run.
fn series(rows: &[LayerRow]) -> Vec<(usize, f64)> {
    let mut points: Vec<(usize, f64)> = Vec::new();
    for r in rows {
        let Some(m) = &r.propagated else { continue };
        match points.last_mut() {
            Some((d, e)) if *d == r.depth => *e = e.max(m.max_rel_error),
            _ => points.push((r.depth, m.max_rel_error)),
        }
    }
    points
}

/// One line of the plot: label, colour, (depth, error) points.
type Line<'a> = (&'a str, &'a str, Vec<(usize, f64)>);

/// An SVG line plot of log10 error against depth.
fn plot(lines: &[Line<'_>]) -> String {
    let (w, h, left, bottom, top, right) = (900.0, 340.0, 60.0, 40.0, 20.0, 150.0);
    let max_depth = lines
        .iter()
        .flat_map(|l| l.2.iter().map(|p| p.0))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (lo, hi) = (-9.0f64, 1.0f64);
    let x = |d: usize| left + (w - left - right) * d as f64 / max_depth;
    let y = |e: f64| {
        let l = if e > 0.0 { e.log10().clamp(lo, hi) } else { lo };
        top + (h - top - bottom) * (hi - l) / (hi - lo)
    };
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\">\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>"
    );
    for k in (lo as i32)..=(hi as i32) {
        let yy = y(10f64.powi(k));
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">1e{k}</text>",
            w - right,
            left - 6.0,
            yy + 4.0
        );
    }
    let ticks = 10usize;
    for i in 0..=ticks {
        let d = (max_depth * i as f64 / ticks as f64).round() as usize;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{d}</text>",
            x(d),
            h - bottom + 16.0
        );
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">depth (node position in execution order)</text>\
         <text x=\"14\" y=\"{:.1}\" transform=\"rotate(-90 14 {:.1})\" text-anchor=\"middle\">max error / output range (propagated)</text>\
         <rect x=\"{left}\" y=\"{top}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>",
        left + (w - left - right) / 2.0,
        h - 6.0,
        h / 2.0,
        h / 2.0,
        w - left - right,
        h - top - bottom
    );
    for (i, (label, colour, points)) in lines.iter().enumerate() {
        let path: Vec<String> = points
            .iter()
            .map(|&(d, e)| format!("{:.1},{:.1}", x(d), y(e)))
            .collect();
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>\
             <line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{colour}\" stroke-width=\"3\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            path.join(" "),
            w - right + 12.0,
            w - right + 36.0,
            top + 14.0 + 18.0 * i as f64,
            top + 14.0 + 18.0 * i as f64,
            w - right + 42.0,
            top + 18.0 + 18.0 * i as f64,
            esc(label)
        );
    }
    s.push_str("</svg>");
    s
}

/// The report of `main` (the validated run), with `other` (the same model at the
/// other precision, per layer) as a second line in the plot, and the fp32-node
/// search when one ran.
pub fn html_report(
    model: &str,
    main: &Validation,
    other: Option<&Validation>,
    mixed: Option<&MixedSearch>,
) -> String {
    let mut h = String::new();
    let verdict = if main.pass() { "PASS" } else { "FAIL" };
    let _ = write!(
        h,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>tflite-wgpu validate: {m}</title>\
         <style>body{{font-family:sans-serif;margin:24px;color:#222}}table{{border-collapse:collapse;margin:8px 0 20px}}\
         td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:13px}}th{{background:#f3f3f3}}\
         td.l{{text-align:left}}.pass{{color:#070}}.fail{{color:#b00;font-weight:bold}}</style></head><body>\
         <h1>{m}</h1><p>GPU at <b>{p}</b> on {a}, compared with the CPU reference over {n} input set(s). \
         Thresholds: max_rel_error &le; {r}, cosine &ge; {c}. Verdict: <span class=\"{cls}\">{verdict}</span>.</p>",
        m = esc(model),
        p = main.precision,
        a = esc(&main.adapter),
        n = main.inputs,
        r = main.thresholds.max_rel,
        c = main.thresholds.min_cosine,
        cls = verdict.to_lowercase(),
    );
    if !main.fp32_nodes.is_empty() {
        let _ = write!(h, "<p>Nodes kept in fp32: {:?}</p>", main.fp32_nodes);
    }
    if let Some(s) = mixed {
        let _ = write!(
            h,
            "<p>Auto-mixed search: {} evaluation(s); fp32 nodes {:?}; {}.</p>",
            s.evaluations,
            s.fp32_nodes,
            if s.pass {
                "passes"
            } else {
                "no set found that passes"
            }
        );
        if !s.tradeoff.is_empty() {
            h.push_str("<h2>Trade-off of the sets tried</h2><table><tr><th>fp32 share of FLOPs</th><th>added nodes</th><th>worst max rel</th><th>worst cosine</th><th>verdict</th><th>set</th><th>frontier</th></tr>");
            for p in &s.tradeoff {
                let _ = write!(
                    h,
                    "<tr><td>{:.2}%</td><td class=\"l\">{:?}</td><td>{}</td><td>{:.6}</td><td class=\"l {v}\">{v}</td><td class=\"l\">{}</td><td>{}</td></tr>",
                    100.0 * p.fp32_flop_share,
                    p.fp32_nodes,
                    num(p.worst_max_rel_error),
                    p.worst_cosine,
                    p.set,
                    if p.frontier { "*" } else { "" },
                    v = if p.pass { "pass" } else { "fail" },
                );
            }
            h.push_str("</table>");
        }
    }
    h.push_str("<h2>Outputs</h2><table><tr><th>#</th><th>name</th><th>shape</th><th>max abs</th><th>mean abs</th><th>RMSE</th><th>max rel</th><th>cosine</th><th>SNR dB</th><th>argmax</th><th>non-finite cpu/gpu</th><th>verdict</th></tr>");
    for o in &main.outputs {
        let m = &o.metrics;
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.6}</td><td>{}</td><td>{}</td><td>{}/{}</td><td class=\"l {}\">{}</td></tr>",
            o.index,
            esc(&o.name),
            o.shape,
            num(m.max_abs_error),
            num(m.mean_abs_error),
            num(m.rmse),
            num(m.max_rel_error),
            m.cosine,
            m.snr_db.map_or("inf".into(), |s| format!("{s:.1}")),
            m.argmax_agreement.map_or("-".into(), |a| format!("{:.1}%", a * 100.0)),
            m.nonfinite_reference,
            m.nonfinite_test,
            if o.failures.is_empty() { "pass" } else { "fail" },
            if o.failures.is_empty() { "pass".to_string() } else { esc(&o.failures.join("; ")) }
        );
    }
    h.push_str("</table>");
    if !main.layers.is_empty() {
        let mut lines = vec![(main.precision, "#d62728", series(&main.layers))];
        if let Some(o) = other.filter(|o| !o.layers.is_empty()) {
            lines.push((o.precision, "#1f77b4", series(&o.layers)));
        }
        h.push_str("<h2>Error by depth</h2><p>Worst propagated error of the tensors at each depth, relative to their range; exact results (0) sit on the floor.</p>");
        h.push_str(&plot(&lines));
        h.push_str("<h2>Layers, worst local error first</h2><table><tr><th>node</th><th>op</th><th>tensor</th><th>shape</th><th>device</th><th>local max rel</th><th>local RMSE</th><th>propagated max rel</th><th>propagated cosine</th><th>note</th></tr>");
        for r in worst_first(&main.layers).into_iter().take(60) {
            let (lr, lrmse) = r.local.as_ref().map_or(("-".into(), "-".into()), |m| {
                (num(m.max_rel_error), num(m.rmse))
            });
            let (pr, pc) = r.propagated.as_ref().map_or(("-".into(), "-".into()), |m| {
                (num(m.max_rel_error), format!("{:.6}", m.cosine))
            });
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{:?}</td><td>{}</td><td>{lr}</td><td>{lrmse}</td><td>{pr}</td><td>{pc}</td><td class=\"l\">{}</td></tr>",
                r.node,
                esc(&r.op),
                esc(&r.name),
                r.shape,
                r.device,
                esc(r.note.as_deref().unwrap_or(""))
            );
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>Execution plan</h2><table><tr><th>step</th><th>device</th><th>precision</th><th>nodes</th></tr>");
    for (i, p) in main.plan.iter().enumerate() {
        let nodes = if p.nodes.len() > 12 {
            format!(
                "{} nodes: {}..{}",
                p.nodes.len(),
                p.nodes[0],
                p.nodes[p.nodes.len() - 1]
            )
        } else {
            format!("{:?}", p.nodes)
        };
        let _ = write!(
            h,
            "<tr><td>{i}</td><td>{}</td><td>{}</td><td class=\"l\">{nodes}</td></tr>",
            p.device, p.precision
        );
    }
    h.push_str("</table>");
    if !main.fallback.is_empty() {
        h.push_str("<h3>On the CPU</h3><ul>");
        for (n, why) in &main.fallback {
            let _ = write!(h, "<li>node {n}: {}</li>", esc(why));
        }
        h.push_str("</ul>");
    }
    h.push_str("<p style=\"color:#888\">Generated by tflite-wgpu validate.</p></body></html>\n");
    h
}
