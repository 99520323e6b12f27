import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The sweep as a PNG, drawn with Java2D so the tool needs nothing but the JDK: time to first token,
 * end-to-end latency and throughput against concurrency; one colour per target, p50 solid and p90 dashed
 * (throughput: aggregate solid, per-stream p50 dotted).
 */
final class Chart {

    private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
            new Color(0xff7f0e), new Color(0x9467bd), new Color(0x8c564b)};
    private static final int PANEL_W = 500;
    private static final int PANEL_H = 420;
    private static final int TOP = 70;
    private static final int MARGIN_L = 70;
    private static final int MARGIN_R = 20;
    private static final int MARGIN_B = 50;

    private Chart() {
    }

    private record Series(String metric, String stat, Stroke stroke, String legend) {
    }

    static void draw(Options options, List<StreamClient.Target> targets, List<Map<String, Object>> sweep, Path file)
            throws IOException {
        BufferedImage image = new BufferedImage(3 * PANEL_W, TOP + PANEL_H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), image.getHeight());
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        String title = (options.label().isBlank() ? "knllama bench" : options.label())
                + "  (max_tokens %d, %s)".formatted(options.maxTokens(), options.api() == StreamClient.Api.CHAT ? "chat" : "completions");
        g.drawString(title, 15, 24);
        legend(g, targets);

        Stroke solid = new BasicStroke(2.2f);
        Stroke dashed = new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1, new float[] {8, 5}, 0);
        Stroke dotted = new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1, new float[] {2, 5}, 0);
        List<Integer> levels = options.concurrency();
        panel(g, 0, "Time to first token (ms)", levels, targets, sweep,
                List.of(new Series("ttft_ms", "p50", solid, "p50"), new Series("ttft_ms", "p90", dashed, "p90")));
        panel(g, PANEL_W, "End-to-end latency (ms)", levels, targets, sweep,
                List.of(new Series("e2e_ms", "p50", solid, "p50"), new Series("e2e_ms", "p90", dashed, "p90")));
        panel(g, 2 * PANEL_W, "Output tokens/s", levels, targets, sweep,
                List.of(new Series("output_tokens_per_s", null, solid, "all streams"),
                        new Series("stream_tokens_per_s", "p50", dotted, "per stream p50")));
        g.dispose();
        if (!ImageIO.write(image, "png", file.toFile())) {
            throw new IOException("no PNG writer in this JDK");
        }
    }

    private static void legend(Graphics2D g, List<StreamClient.Target> targets) {
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        int x = 15;
        for (int i = 0; i < targets.size(); i++) {
            g.setColor(PALETTE[i % PALETTE.length]);
            g.fillRect(x, 40, 22, 10);
            g.setColor(Color.BLACK);
            String text = targets.get(i).name() + " (" + targets.get(i).base() + ")";
            g.drawString(text, x + 28, 50);
            x += 40 + g.getFontMetrics().stringWidth(text);
        }
    }

    private static void panel(Graphics2D g, int left, String title, List<Integer> levels, List<StreamClient.Target> targets,
                              List<Map<String, Object>> sweep, List<Series> series) {
        int x0 = left + MARGIN_L;
        int x1 = left + PANEL_W - MARGIN_R;
        int y0 = TOP + PANEL_H - MARGIN_B;
        int y1 = TOP + 42;
        double max = 0;
        for (Map<String, Object> r : sweep) {
            for (Series s : series) {
                double v = Stats.get(r, s.metric(), s.stat());
                if (Double.isFinite(v)) {
                    max = Math.max(max, v);
                }
            }
        }
        double step = niceStep(max <= 0 ? 1 : max / 5);
        double top = step * Math.max(1, Math.ceil(max / step));

        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.setColor(Color.BLACK);
        g.drawString(title, x0, TOP + 15);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (double v = 0; v <= top + step / 2; v += step) {
            int y = y(v, top, y0, y1);
            g.setColor(new Color(0xe5e5e5));
            g.drawLine(x0, y, x1, y);
            g.setColor(Color.DARK_GRAY);
            String label = v >= 100 || v == Math.rint(v) ? "%.0f".formatted(v) : "%.1f".formatted(v);
            g.drawString(label, x0 - 8 - g.getFontMetrics().stringWidth(label), y + 4);
        }
        g.setColor(Color.BLACK);
        g.drawLine(x0, y0, x1, y0);
        g.drawLine(x0, y0, x0, y1);
        for (int i = 0; i < levels.size(); i++) {
            int x = x(i, levels.size(), x0, x1);
            String label = levels.get(i).toString();
            g.drawLine(x, y0, x, y0 + 4);
            g.drawString(label, x - g.getFontMetrics().stringWidth(label) / 2, y0 + 18);
        }
        g.drawString("concurrent streams", (x0 + x1) / 2 - 50, y0 + 38);

        for (int t = 0; t < targets.size(); t++) {
            Color color = PALETTE[t % PALETTE.length];
            for (Series s : series) {
                Path2D.Double line = new Path2D.Double();
                boolean started = false;
                for (int i = 0; i < levels.size(); i++) {
                    double v = value(sweep, targets.get(t).name(), levels.get(i), s);
                    if (!Double.isFinite(v)) {
                        started = false;
                        continue;
                    }
                    int x = x(i, levels.size(), x0, x1);
                    int y = y(v, top, y0, y1);
                    if (started) {
                        line.lineTo(x, y);
                    } else {
                        line.moveTo(x, y);
                        started = true;
                    }
                    g.setColor(color);
                    g.fillOval(x - 3, y - 3, 7, 7);
                }
                g.setColor(color);
                g.setStroke(s.stroke());
                g.draw(line);
                g.setStroke(new BasicStroke(1));
            }
        }
        // Line-style key for this panel, top right, above the plot.
        int ky = TOP + 2;
        for (Series s : series) {
            g.setColor(Color.DARK_GRAY);
            g.setStroke(s.stroke());
            g.drawLine(x1 - 150, ky + 6, x1 - 120, ky + 6);
            g.setStroke(new BasicStroke(1));
            g.drawString(s.legend(), x1 - 112, ky + 10);
            ky += 16;
        }
    }

    private static double value(List<Map<String, Object>> sweep, String target, int level, Series s) {
        for (Map<String, Object> r : sweep) {
            if (r.get("target").equals(target) && ((Number) r.get("concurrency")).intValue() == level) {
                return Stats.get(r, s.metric(), s.stat());
            }
        }
        return Double.NaN;
    }

    private static int x(int index, int count, int x0, int x1) {
        int pad = 30;
        return count == 1 ? (x0 + x1) / 2 : x0 + pad + index * (x1 - x0 - 2 * pad) / (count - 1);
    }

    private static int y(double v, double top, int y0, int y1) {
        return (int) Math.round(y0 - v / top * (y0 - y1));
    }

    /** 1, 2 or 5 times a power of ten: axis ticks a reader can add up. */
    private static double niceStep(double raw) {
        double power = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / power;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
    }
}
