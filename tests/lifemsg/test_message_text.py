from django.template import Context, Template


def render(text: str) -> str:
    return Template("{% load lifemsg_text %}{{ body|message_text }}").render(Context({"body": text}))


def test_script_is_escaped():
    out = render("<script>alert('x')</script>")
    assert "<script>" not in out
    assert "&lt;script&gt;" in out


def test_http_links_become_safe_links_and_other_schemes_stay_text():
    out = render("Se https://www.soderkoping.se/bistand. Eller javascript:alert(1) eller data:text/html,x")
    assert '<a href="https://www.soderkoping.se/bistand" rel="noopener noreferrer nofollow"' in out
    assert out.count("<a ") == 1
    assert "javascript:alert(1)" in out


def test_link_cannot_break_out_of_the_attribute():
    out = render('https://example.se/"onmouseover="alert(1)')
    assert 'onmouseover="' not in out
    assert "&quot;" in out
