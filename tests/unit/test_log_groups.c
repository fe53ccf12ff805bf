/* Consumer groups: commit and read back, across a reopen, with odd group
 * names; bad commits refused; listing, deleting, and offsets of a deleted
 * topic forgotten; a damaged group file reported on open. */
#include "log/log.h"
#include "log_test_util.h"

static void test_commit_and_reopen(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    mp_error e = {0};
    REQUIRE(mp_log_topic_create(log, "orders", 3, NULL, 0, &e) == 0);
    REQUIRE(mp_log_topic_create(log, "clicks", 1, NULL, 0, &e) == 0);
    int64_t off = 99;
    /* Nothing committed yet: -1, not an error. */
    REQUIRE(mp_log_committed(log, "g1", "orders", 0, &off, &e) == 0);
    CHECK(off == -1);

    mp_log_offset c1[] = {{"orders", 0, 5}, {"orders", 2, 17}, {"clicks", 0, 3}};
    REQUIRE(mp_log_commit(log, "g1", c1, 3, &e) == 0);
    mp_log_offset c2[] = {{"orders", 0, 8}};
    REQUIRE(mp_log_commit(log, "g1", c2, 1, &e) == 0);
    const char *odd = "team/α beta:1 ..";
    mp_log_offset c3[] = {{"orders", 1, 42}};
    REQUIRE(mp_log_commit(log, odd, c3, 1, &e) == 0);
    REQUIRE(mp_log_commit(log, "g2", c3, 1, &e) == 0);

    REQUIRE(mp_log_committed(log, "g1", "orders", 0, &off, &e) == 0);
    CHECK(off == 8);
    REQUIRE(mp_log_committed(log, "g1", "orders", 1, &off, &e) == 0);
    CHECK(off == -1);
    lt_close(log);

    log = lt_open(dir);
    REQUIRE(log);
    REQUIRE(mp_log_committed(log, "g1", "orders", 0, &off, &e) == 0);
    CHECK(off == 8);
    REQUIRE(mp_log_committed(log, "g1", "orders", 2, &off, &e) == 0);
    CHECK(off == 17);
    REQUIRE(mp_log_committed(log, "g1", "clicks", 0, &off, &e) == 0);
    CHECK(off == 3);
    REQUIRE(mp_log_committed(log, odd, "orders", 1, &off, &e) == 0);
    CHECK(off == 42);
    REQUIRE(mp_log_committed(log, "g3", "orders", 1, &off, &e) == 0);
    CHECK(off == -1);

    char **names;
    size_t n;
    REQUIRE(mp_log_group_list(log, &names, &n, &e) == 0);
    CHECK(n == 3 && !strcmp(names[0], "g1") && !strcmp(names[1], "g2") &&
          !strcmp(names[2], odd));
    mp_log_names_free(names, n);

    mp_log_offset *list;
    REQUIRE(mp_log_group_offsets(log, "g1", &list, &n, &e) == 0);
    REQUIRE(n == 3);
    CHECK(!strcmp(list[0].topic, "clicks") && list[0].partition == 0 && list[0].offset == 3);
    CHECK(!strcmp(list[1].topic, "orders") && list[1].partition == 0 && list[1].offset == 8);
    CHECK(!strcmp(list[2].topic, "orders") && list[2].partition == 2 && list[2].offset == 17);
    mp_log_offsets_free(list, n);
    CHECK(mp_log_group_offsets(log, "nope", &list, &n, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "no consumer group 'nope'");

    /* Bad commits change nothing. */
    mp_log_offset bad1[] = {{"orders", 0, 100}, {"orders", 3, 1}};
    CHECK(mp_log_commit(log, "g1", bad1, 2, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "topic orders has 3 partitions (0..2), not 3");
    mp_log_offset bad2[] = {{"nosuch", 0, 1}};
    CHECK(mp_log_commit(log, "g1", bad2, 1, &e) == MP_ENOTFOUND);
    mp_log_offset bad3[] = {{"orders", 0, -4}};
    CHECK(mp_log_commit(log, "g1", bad3, 1, &e) == MP_EINVAL);
    CHECK(mp_log_commit(log, "", c2, 1, &e) == MP_EINVAL);
    char longname[300];
    memset(longname, 'g', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK(mp_log_commit(log, longname, c2, 1, &e) == MP_EINVAL);
    REQUIRE(mp_log_committed(log, "g1", "orders", 0, &off, &e) == 0);
    CHECK(off == 8);
    CHECK(mp_log_committed(log, "g1", "orders", 9, &off, &e) == MP_ENOTFOUND);

    /* Deleting a topic forgets its offsets, in memory and on disk. */
    REQUIRE(mp_log_topic_delete(log, "clicks", &e) == 0);
    REQUIRE(mp_log_group_offsets(log, "g1", &list, &n, &e) == 0);
    CHECK(n == 2);
    mp_log_offsets_free(list, n);
    REQUIRE(mp_log_topic_create(log, "clicks", 1, NULL, 0, &e) == 0);
    REQUIRE(mp_log_committed(log, "g1", "clicks", 0, &off, &e) == 0);
    CHECK(off == -1);

    /* Deleting a group. */
    REQUIRE(mp_log_group_delete(log, "g2", &e) == 0);
    CHECK(mp_log_group_delete(log, "g2", &e) == MP_ENOTFOUND);
    lt_close(log);

    log = lt_open(dir);
    REQUIRE(log);
    REQUIRE(mp_log_group_list(log, &names, &n, &e) == 0);
    CHECK(n == 2);
    mp_log_names_free(names, n);
    REQUIRE(mp_log_committed(log, "g1", "clicks", 0, &off, &e) == 0);
    CHECK(off == -1);
    REQUIRE(mp_log_committed(log, "g1", "orders", 2, &off, &e) == 0);
    CHECK(off == 17);
    lt_close(log);

    /* One file per group; the name is encoded, the content says it. */
    char gdir[300];
    snprintf(gdir, sizeof gdir, "%s/groups", dir);
    CHECK(lt_count_files(gdir, ".json") == 2);
    char path[400];
    snprintf(path, sizeof path, "%s/g1.json", gdir);
    char *text;
    size_t len;
    REQUIRE(mp_read_file_raw(path, &text, &len, &e) == 0);
    CHECK_STR_CONTAINS(text, "\"group\":\"g1\"");
    CHECK_STR_CONTAINS(text, "\"orders\":{\"0\":8,\"2\":17}");
    free(text);

    /* A damaged group file stops the open with its name. */
    lt_write_file(path, "{\"group\": \"g1\", \"offsets\": {\"orders\": {\"x\": 1}}}", 48);
    mp_log *bad = NULL;
    mp_log_options o = MP_LOG_OPTIONS_INIT;
    o.background = 0;
    CHECK(mp_log_open_embedded(dir, &o, &bad, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "g1.json");
    CHECK(bad == NULL);
}

int main(void)
{
    RUN(test_commit_and_reopen);
    lt_cleanup();
    return TEST_SUMMARY();
}
