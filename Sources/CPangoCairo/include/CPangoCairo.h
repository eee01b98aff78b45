// cairo + pango + fontconfig as Swift sees them: the PDF report renderer (ReportPDF).
//
// A SwiftPM system-library target (pkg-config `pangocairo`; the modulemap also links pangoft2 and
// fontconfig, which pangocairo.pc lists only as private requirements). A system-library target
// compiles no C file, so the few helpers are static inline: they wrap what Swift cannot name
// (GObject cast macros) or would otherwise repeat.
#ifndef ROOMD_CPANGOCAIRO_H
#define ROOMD_CPANGOCAIRO_H

#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>
#include <pango/pangofc-fontmap.h>
#include <cairo/cairo.h>
#include <cairo/cairo-pdf.h>

/// A pango font map of its own (not the process-wide default) that sees only the fonts of
/// `config`, at 72 dpi so that a pango unit is 1/PANGO_SCALE point. Takes its own reference
/// to `config`. NULL if cairo was built without FreeType. Release with g_object_unref.
static inline PangoFontMap *roomd_font_map_new(FcConfig *config) {
    PangoFontMap *map = pango_cairo_font_map_new_for_font_type(CAIRO_FONT_TYPE_FT);
    if (map == NULL) return NULL;
    pango_fc_font_map_set_config(PANGO_FC_FONT_MAP(map), config);
    pango_cairo_font_map_set_resolution(PANGO_CAIRO_FONT_MAP(map), 72.0);
    return map;
}

/// A context for `map` with the language set (e.g. "zh-cn": Simplified glyph forms and Chinese
/// line breaking), metrics unhinted and glyph positions unrounded: what is measured is what a
/// PDF draws, at any zoom. Release with g_object_unref.
static inline PangoContext *roomd_context_new(PangoFontMap *map, const char *language) {
    PangoContext *context = pango_font_map_create_context(map);
    pango_context_set_language(context, pango_language_from_string(language));
    pango_context_set_round_glyph_positions(context, FALSE);
    cairo_font_options_t *options = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
    pango_cairo_context_set_font_options(context, options);
    cairo_font_options_destroy(options);
    pango_cairo_context_set_resolution(context, 72.0);
    return context;
}

/// The family name pango resolves `description` to in `map` (e.g. "Noto Serif CJK SC"), copied
/// into `out` (NUL-terminated, truncated to `capacity`). 0 when no font could be loaded.
static inline int roomd_resolved_family(PangoFontMap *map, PangoContext *context,
                                        const PangoFontDescription *description, char *out, int capacity) {
    PangoFont *font = pango_font_map_load_font(map, context, description);
    if (font == NULL || capacity <= 0) return 0;
    PangoFontDescription *resolved = pango_font_describe(font);
    const char *family = pango_font_description_get_family(resolved);
    int ok = family != NULL;
    if (ok) {
        g_strlcpy(out, family, (gsize)capacity);
    }
    pango_font_description_free(resolved);
    g_object_unref(font);
    return ok;
}

/// Number of font faces fontconfig found for `config` (0: the font folder is empty or missing).
static inline int roomd_fc_font_count(FcConfig *config) {
    FcFontSet *set = FcConfigGetFonts(config, FcSetSystem);
    return set == NULL ? 0 : set->nfont;
}

#endif
