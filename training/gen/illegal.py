"""ILLEGAL: gambling, escort, fake invoices / IDs, with occasional obfuscation."""
from .common import family, fw

L = "ILLEGAL"
CASINOS = ["金沙娱乐", "威尼斯人", "澳门葡京", "永利皇宫", "银河娱乐", "新葡京", "太阳城", "皇冠体育", "亚洲必赢",
           "美高梅", "bet365", "博九", "鸿运国际", "大发娱乐", "凯时"]


def wx(r):
    """An obfuscated WeChat / QQ contact."""
    label = r.pick(["加V", "V信", "薇信", "微 信", "威信", "VX", "扣扣", "企鹅", "加微", "➕V", "wx", "微"])
    ident = r.pick([r.alnum(2).lower() + r.digits(r.randint(4, 7)), r.digits(r.randint(8, 10), False)])
    if r.random() < 0.3:
        ident = fw(ident)
    return f"{label}{r.pick(['', '：', ':', ' '])}{ident}"


def site(r):
    host = r.pick([f"{r.alnum(2).lower()}{r.digits(4)}.com", f"{r.alnum(4).lower()}{r.digits(2)}.vip",
                   f"{r.digits(4)}{r.alnum(2).lower()}.cc", f"www.{r.alnum(3).lower()}{r.digits(3)}.net"])
    return fw(host) if r.random() < 0.2 else host


def spaced(r, s):
    """Inserts separators between characters: 百 家 乐, 棋*牌."""
    sep = r.pick([" ", "*", ".", "~", "_"])
    return sep.join(s)


def maybe_obf(r, word, p=0.25):
    return spaced(r, word) if r.random() < p else word


@family(L, "il_casino", weight=1.2)
def casino(r):
    name = r.pick(CASINOS)
    body = r.pick([f"首存{r.pick([100, 200, 500])}送{r.pick([88, 188, 388, 588])}，真人{maybe_obf(r, '百家乐')}、电子游艺、体育投注，"
                   f"日返水{r.pick(['0.8', '1.0', '1.2', '1.5'])}%，提款3分钟到账，官网 {site(r)}",
                   f"{r.pick(['澳门', '线上'])}{maybe_obf(r, '赌场')}直营，注册即送{r.pick([38, 58, 88, 128])}元彩金，{r.pick(['无需流水', '一倍流水即可提现'])}，{site(r)}",
                   f"{maybe_obf(r, '百家乐')}、龙虎斗、{r.pick(['牛牛', '炸金花', '21点'])}，千万提款无忧，{wx(r)}",
                   f"亚洲顶级{maybe_obf(r, '博彩')}平台，老会员回归送{r.pick([100, 300, 500])}%首存彩金，网址 {site(r)}"])
    out = f"【{name}】{body}" if r.random() < 0.6 else f"{name}：{body}"
    return r.vary(out, 0.2)


@family(L, "il_chess_cards")
def chess(r):
    game = r.pick(["棋牌", "斗地主", "麻将", "捕鱼", "炸金花", "德州扑克", "跑得快"])
    body = r.pick([f"{maybe_obf(r, game)}真人对战，注册送{r.pick([18, 28, 38, 58])}元，上分下分秒到，{wx(r)}",
                   f"玩{maybe_obf(r, game)}赢现金，每日签到领彩金，推荐好友送{r.pick([10, 20, 50])}元，下载地址 {site(r)}",
                   f"{r.pick(['新平台', '老牌平台'])}{game}上线，充{r.pick([50, 100])}送{r.pick([50, 100])}，24小时客服{wx(r)}"])
    return r.vary(body, 0.2)


@family(L, "il_sports_betting")
def sports(r):
    ev = r.pick(["世界杯", "欧洲杯", "英超", "NBA", "欧冠", "亚洲杯", "中超"])
    body = r.pick([f"{ev}火热进行，{maybe_obf(r, '体育投注')}平台首充加赠{r.pick([50, 100])}%，串关赔率全网最高，{site(r)}",
                   f"{ev}竞猜，{maybe_obf(r, '下注')}返水{r.pick(['1%', '1.5%', '2%'])}，稳赚不赔内部推单，{wx(r)}",
                   f"{ev}专家{maybe_obf(r, '推单')}，跟单即赚，月入过万，{wx(r)}"])
    return r.vary(body, 0.2)


@family(L, "il_escort")
def escort(r):
    city = r.city()
    body = r.pick([f"{city}本地{maybe_obf(r, '兼职女')}，{r.pick(['学生', '模特', '少妇'])}，{maybe_obf(r, '上门服务')}，安全私密，{wx(r)}",
                   f"{city}{r.pick(['高端', '同城'])}{maybe_obf(r, '约')}，{r.pick(['全套', '包夜', '快餐'])}{r.randint(5, 20)}00，酒店宾馆均可上门，{wx(r)}",
                   f"寂寞吗？{city}{maybe_obf(r, '私人会所')}，{r.pick(['美女技师', '学生妹'])}{maybe_obf(r, '上门')}，真人照片，{wx(r)}"])
    return r.vary(body, 0.2)


@family(L, "il_fake_invoice", weight=1.2)
def invoice(r):
    who = r.pick(["李会计", "王会计", "张经理", "财务刘姐", "陈总"])
    body = r.pick([f"本公司长期{maybe_obf(r, '代开')}各类发票：增值税专用发票、普通发票、建筑业、运输业，点数低，可验证后付款，联系{who}{r.mobile()}",
                   f"有需要{maybe_obf(r, '代开发票')}的老板请联系，税点优惠，各行业均可开，真票可查，{wx(r)}",
                   f"{r.pick(['增值税', '普通', '餐饮', '住宿'])}{maybe_obf(r, '发票')}代开，{r.pick(['月底冲量', '抵扣进项', '报销'])}，票点{r.pick(['1', '1.5', '2', '3'])}个点，{who}{r.mobile()}"])
    return r.vary(body, 0.2)


@family(L, "il_fake_id")
def fake_id(r):
    body = r.pick([f"专业{maybe_obf(r, '办证')}：{r.pick(['身份证', '驾驶证', '毕业证', '学位证', '房产证', '结婚证'])}、"
                   f"{r.pick(['各类证件', '资格证', '健康证'])}，全国可查，电话{r.mobile()}",
                   f"{maybe_obf(r, '刻章')}办证，{r.pick(['公章', '合同章', '财务章'])}当天取，学信网可查{maybe_obf(r, '学历')}，{wx(r)}",
                   f"驾照{maybe_obf(r, '消分')}、{r.pick(['代扣分', '买分卖分'])}，{r.pick([100, 120, 150, 180, 200, 250, 300])}元一分，当天处理，{wx(r)}"])
    return r.vary(body, 0.2)


# ---- test families ----

@family(L, "il_obfuscated_fullwidth", split="test")
def obfuscated(r):
    game = r.pick(["百家乐", "时时彩", "六合彩", "北京赛车", "老虎机", "真人视讯"])
    body = r.pick([f"{' '.join(game)} 稳 赚 计 划，充 值 {fw(str(r.randint(1, 9) * 100))} 送 {fw(str(r.randint(1, 5) * 100))}，{wx(r)}",
                   f"澳＊门＊{game}＊上线，日＊赚＊{fw(str(r.randint(5, 50) * 100))}，网＊址＊{fw(site(r))}",
                   f"{fw('VIP')}彩金到账{fw(str(r.randint(50, 999)))}元，{game}直接领取，{wx(r)}，{r.pick(['秒到账', '不限IP', '稳定'])}"])
    return body


@family(L, "il_cashout_data", split="test")
def cashout(r):
    body = r.pick([f"信用卡{r.pick(['套现', '代还', '提额'])}，{r.pick(['0.5', '0.6', '0.8'])}费率，当天到账，各类信用卡均可，联系{r.surname()}经理{r.mobile()}",
                   f"出售{r.pick(['精准客户', '股民', '车主', '宝妈', '贷款客户'])}资料，{r.pick(['手机号+姓名', '实时更新', '按条计费'])}，{wx(r)}",
                   f"收购{r.pick(['银行卡', '对公账户', '手机卡', '支付宝账号'])}，一套{r.randint(5, 30)}00元，高价回收，{wx(r)}",
                   f"代办{r.pick(['花呗', '白条', '信用卡'])}{maybe_obf(r, '套现', 0.5)}，{r.randint(1, 9)}秒出款，手续费低至{r.randint(3, 8)}%，{wx(r)}"])
    return body
