-- The address registry (layer `addresses`, declared in layers/declarations/50_cadastre.yaml)
-- and the tolerant search engine behind /search, /geocode and /reverse (docs/search.md).
-- Owner of everything here: the package `cadastre` (addresses.py, search.py), see
-- docs/database.md.

-- Trigram matching (contrib; trusted since PostgreSQL 13), in `public` beside PostGIS.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE SCHEMA search AUTHORIZATION geoportal_owner;
GRANT USAGE ON SCHEMA search TO geoportal_agency, geoportal_public;

-- Kyrgyz and Russian Cyrillic to a plain Latin spelling (lower case): ө, ү, ң to o, u, n,
-- ж to j, ч to ch, ш and щ to sh, х to h, ц to ts, ю to iu, я to ia, ы and й to i; signs
-- dropped. One spelling per sound, so that search keys of both scripts meet.
CREATE FUNCTION search.translit(p_text text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
SELECT translate(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
        translate(p_text, 'АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯҢӨҮҺ',
                          'абвгдеёжзийклмнопрстуфхцчшщъыьэюяңөүһ'),
        'щ', 'sh'), 'ш', 'sh'), 'ч', 'ch'), 'ж', 'j'), 'ц', 'ts'), 'х', 'h'),
        'ю', 'iu'), 'я', 'ia'), 'ё', 'e'), 'ъ', ''), 'ь', ''),
    'абвгдезийклмнопрстуфыэңөүһ', 'abvgdeziiklmnoprstufienouh')
$$;
ALTER FUNCTION search.translit(text) OWNER TO geoportal_owner;

-- The search key of a name, an address or a query: transliterated, lower case, accents and
-- the Latin spellings of one sound folded (dzh/dj/zh -> j, kh -> h, y -> i, q -> k,
-- w -> v), hyphens and apostrophes joined (Jalal-Abad = Jalalabad, М-41 = M41), other
-- punctuation a space, street and place type words dropped (улица, көчөсү, проспект, пр,
-- street, oblast...), Russian adjective endings dropped (Чуйский = Чуй), doubled letters
-- single (Bishkekk = Bishkek). Compared with pg_trgm, which then tolerates missing or
-- extra letters.
CREATE FUNCTION search.search_key(p_text text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    s text := lower(search.translit(p_text));
BEGIN
    s := translate(s, 'áàâäãåāéèêëēíìîïīóòôöõøōúùûüūýÿñçşğı',
                      'aaaaaaaeeeeeiiiiiooooooouuuuuyyncsgi');
    s := replace(replace(replace(replace(s, 'dzh', 'j'), 'dj', 'j'), 'zh', 'j'), 'kh', 'h');
    s := replace(translate(s, 'yqw', 'ikv'), 'x', 'ks');
    s := regexp_replace(s, '[-''`ʼ’‘]', '', 'g');
    s := regexp_replace(s, '[^a-z0-9]+', ' ', 'g');
    s := regexp_replace(s,
        '\m(ulitsa|ul|kochosu|kocho|prospekt|prospekti|prospektisi|pr|prt|prosp|bulvar|'
        'bulvari|bulv|bul|br|pereulok|per|tupik|ploshad|mkr|mikroraion|street|st|avenue|'
        'ave|av|boulevard|blvd|lane|road|rd|gorod|g|shaari|citi|town|selo|s|aiil|aiili|'
        'poselok|pgt|village|oblast|oblasti|oblus|oblusu|region|raion|raionu|district)\M',
        ' ', 'g');
    s := regexp_replace(s, '([a-z]{2,})(skii|ski|skaia|skoe|skogo|skoi|skai)\M', '\1', 'g');
    s := regexp_replace(s, '([a-z])\1+', '\1', 'g');
    RETURN btrim(regexp_replace(s, '\s+', ' ', 'g'));
END
$$;
ALTER FUNCTION search.search_key(text) OWNER TO geoportal_owner;

-- The search key of a thing with several names (its names in three languages, its codes):
-- the words of their keys, each once, in order of first appearance.
CREATE FUNCTION search.name_key(VARIADIC p_names text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT coalesce(string_agg(word, ' ' ORDER BY first), '')
FROM (
    SELECT u.word, min(t.n * 1000 + u.w) AS first
    FROM unnest(p_names) WITH ORDINALITY AS t(name, n),
         unnest(string_to_array(search.search_key(t.name), ' ')) WITH ORDINALITY AS u(word, w)
    WHERE u.word <> ''
    GROUP BY u.word
) AS words
$$;
ALTER FUNCTION search.name_key(text[]) OWNER TO geoportal_owner;

-- The streets of the address registry (and, for addresses without a street, their
-- settlement): written by cadastre.addresses with the addresses, read by the search.
-- `key`: the words of the settlement's and the street's names; `head`: of the street's
-- alone (the settlement's for a settlement row), for ranking.
CREATE TABLE search.streets (
    id integer PRIMARY KEY,
    settlement_ky text NOT NULL,
    settlement_ru text NOT NULL,
    settlement_en text NOT NULL,
    street_ky text,
    street_ru text,
    street_latin text,
    key text NOT NULL,
    head text NOT NULL,
    address_count integer NOT NULL DEFAULT 0,
    first_address_id bigint,
    min_lon double precision,
    min_lat double precision,
    max_lon double precision,
    max_lat double precision
);
CREATE INDEX streets_head_trgm_idx ON search.streets USING gin (head gin_trgm_ops);
ALTER TABLE search.streets OWNER TO geoportal_owner;

-- One row per named thing of the public layers (a settlement, a lake, a peak, a road with
-- all its segments, a street of the address registry): its labels, its search key and the
-- box of all its features. `key`: the words of all its names and codes; `head`: of its
-- identifier alone (a road's number, a place's names), for ranking. Rebuilt by
-- cadastre.names.refresh_names after each load.
CREATE TABLE search.names (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection text NOT NULL,
    kind text NOT NULL,
    target_id text NOT NULL,  -- the feature (a road: its first segment) to open
    feature_count integer NOT NULL,
    label_ky text NOT NULL,
    label_ru text NOT NULL,
    label_en text NOT NULL,
    matched text,
    key text NOT NULL,
    head text NOT NULL,
    priority smallint NOT NULL,
    min_lon double precision NOT NULL,
    min_lat double precision NOT NULL,
    max_lon double precision NOT NULL,
    max_lat double precision NOT NULL
);
CREATE INDEX names_key_trgm_idx ON search.names USING gin (key gin_trgm_ops);
ALTER TABLE search.names OWNER TO geoportal_owner;

GRANT SELECT ON search.streets, search.names TO geoportal_agency, geoportal_public;

-- layer addresses
CREATE TABLE "cadastre"."addresses" (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    "oblast" text NOT NULL,
    "rayon" text,
    "settlement_ky" text NOT NULL,
    "settlement_ru" text NOT NULL,
    "settlement_en" text NOT NULL,
    "street_ky" text,
    "street_ru" text,
    "street_latin" text,
    "house_number" integer NOT NULL CHECK ("house_number" >= 1),
    "letter" text,
    "label_ky" text NOT NULL,
    "label_ru" text NOT NULL,
    "label_en" text NOT NULL,
    "street_id" integer NOT NULL,
    "building_id" bigint,
    "parcel_id" bigint,
    "cadastral_code" text,
    geom geometry(Point, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX "addresses_geom_idx" ON "cadastre"."addresses" USING gist (geom);
CREATE INDEX "addresses_label_en_lower_idx" ON "cadastre"."addresses" (lower("label_en") text_pattern_ops);
CREATE INDEX "addresses_label_ru_lower_idx" ON "cadastre"."addresses" (lower("label_ru") text_pattern_ops);
CREATE INDEX "addresses_label_ky_lower_idx" ON "cadastre"."addresses" (lower("label_ky") text_pattern_ops);
CREATE INDEX "addresses_cadastral_code_lower_idx" ON "cadastre"."addresses" (lower("cadastral_code") text_pattern_ops);
ALTER TABLE "cadastre"."addresses" OWNER TO geoportal_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON "cadastre"."addresses" TO geoportal_agency;
GRANT SELECT ("id", "oblast", "rayon", "settlement_ky", "settlement_ru", "settlement_en", "street_ky", "street_ru", "street_latin", "house_number", "letter", "label_ky", "label_ru", "label_en", "street_id", "building_id", "parcel_id", "cadastral_code", "geom") ON "cadastre"."addresses" TO geoportal_public;
SELECT catalog.layer_watch('"cadastre"."addresses"', 'addresses');
SELECT catalog.layer_bound('"cadastre"."addresses"', true);

-- A house on a street: the forward search's last step; the links of reverse.
CREATE INDEX "addresses_street_number_idx" ON "cadastre"."addresses" ("street_id", "house_number");
CREATE INDEX "addresses_building_id_idx" ON "cadastre"."addresses" ("building_id");
CREATE INDEX "addresses_parcel_id_idx" ON "cadastre"."addresses" ("parcel_id");
-- The exact counter of the layer (kept by the triggers of catalog.layer_watch).
INSERT INTO catalog.layer_stats (layer_id, feature_count) VALUES ('addresses', 0)
ON CONFLICT (layer_id) DO NOTHING;
