"""The watch-list comparison itself fails when a converge task writes an unwatched path."""

from __future__ import annotations

from .watch import managed, role_templar, trusted


def test_the_test_sees_a_path_missing_from_the_watch_list(tmp_path):
    """The comparison fails when a converge task writes a path the watch list lacks."""
    role = tmp_path / "r"
    for d in ("tasks", "defaults", "vars"):
        (role / d).mkdir(parents=True)
    (role / "defaults/main.yml").write_text("r_dir: /etc/r\n")
    (role / "vars/main.yml").write_text(
        "__r_watch: {files: ['{{ r_dir }}/a.conf'], units: [], packages: []}\n"
    )
    (role / "tasks/main.yml").write_text(
        "- name: A\n  ansible.builtin.copy: {dest: '{{ r_dir }}/a.conf', content: x}\n"
        "- name: B\n  ansible.builtin.template: {dest: '{{ r_dir }}/b.conf', src: b.j2}\n"
    )
    templar = role_templar(role)
    watch = templar.template(trusted("{{ __r_watch }}"))
    paths = managed(role, templar, set())[0]
    assert paths - set(watch["files"]) == {"/etc/r/b.conf"}
