"""Shared pieces of the port-SMS generator: the seeded RNG, the family registry and slot data.

Everything here is deterministic: every family gets its own random.Random seeded with a
string (Python seeds str via SHA-512, independent of PYTHONHASHSEED).
"""
import random
import string

FAMILIES = []


class Family:
    def __init__(self, label, name, split, weight, fn):
        self.label, self.name, self.split, self.weight, self.fn = label, name, split, weight, fn


def family(label, name, split="train", weight=1.0):
    """Registers a template family: fn(r) -> one SMS text. split is 'train' or 'test'."""
    assert split in ("train", "test")

    def deco(fn):
        assert all(f.name != name for f in FAMILIES), name
        FAMILIES.append(Family(label, name, split, weight, fn))
        return fn
    return deco


class R(random.Random):
    """random.Random with slot helpers."""

    def pick(self, seq):
        return seq[self.randrange(len(seq))]

    def maybe(self, p, text, alt=""):
        return text if self.random() < p else alt

    def digits(self, n, lead_zero=True):
        first = self.choice("0123456789" if lead_zero else "123456789")
        return first + "".join(self.choice("0123456789") for _ in range(n - 1))

    def alnum(self, n, alphabet=string.ascii_letters + string.digits):
        return "".join(self.choice(alphabet) for _ in range(n))

    def upper(self, n):
        return self.alnum(n, string.ascii_uppercase)

    def amount(self, lo, hi, dec=None, comma=None):
        """A money amount as text: '2,500.00', '268.5', '88'."""
        x = self.uniform(lo, hi)
        if dec is None:
            dec = self.pick([2, 2, 2, 0])
        if dec == 0:
            x = round(x)
        if comma is None:
            comma = self.random() < 0.6
        s = f"{x:,.{dec}f}" if comma else f"{x:.{dec}f}"
        return s

    def round_amount(self, lo, hi, step):
        return self.randrange(lo // step, hi // step + 1) * step

    def md(self, style=None):
        """Month-day in one of several common formats."""
        m, d = self.randint(1, 12), self.randint(1, 28)
        style = style if style is not None else self.randrange(5)
        return [f"{m}月{d}日", f"{m:02d}月{d:02d}日", f"{m:02d}/{d:02d}", f"{m:02d}-{d:02d}",
                f"{self.pick([2023, 2024, 2025])}年{m}月{d}日"][style]

    def hm(self):
        return f"{self.randint(0, 23):02d}:{self.randint(0, 59):02d}"

    def ymd(self):
        return f"{self.pick([2023, 2024, 2025])}-{self.randint(1, 12):02d}-{self.randint(1, 28):02d}"

    def code(self, lo=4, hi=6):
        return self.digits(self.randint(lo, hi))

    def tail(self):
        return self.digits(4)

    def mobile(self):
        return self.pick(["13", "15", "17", "18", "19", "16", "14"]) + self.digits(9)

    def masked_mobile(self):
        m = self.mobile()
        return m[:3] + "****" + m[-4:]

    def surname(self):
        return self.pick(SURNAMES)

    def person(self):
        return self.surname() + self.pick(["先生", "女士"])

    def masked_name(self):
        n = self.surname() + self.pick(GIVEN)
        return n[0] + "*" + n[2:] if len(n) > 2 else n[0] + "*"

    def city(self):
        return self.pick(CITIES)

    def community(self):
        return self.pick(COMMUNITIES) + self.pick(["", f"{self.randint(1, 32)}栋", f"{self.randint(1, 18)}号楼",
                                                   f"{self.randint(1, 12)}期", "东门", "南门", "北区"])

    def sig(self, brand, body, end_p=0.1):
        """Signature 【brand】 at the start, or (end_p) at the end."""
        return f"{body}【{brand}】" if self.random() < end_p else f"【{brand}】{body}"

    def vary(self, s, p=0.12):
        """Punctuation variety: occasional ASCII punctuation, dropped final full stop."""
        if self.random() < p:
            s = s.replace("，", ",").replace("：", ":").replace("！", "!")
        if self.random() < p and s.endswith("。"):
            s = s[:-1]
        return s

    def optout(self):
        return self.pick(OPTOUTS)

    def short_url(self, host=None):
        host = host or self.pick(SHORT_HOSTS)
        return f"{host}/{self.alnum(self.randint(4, 8))}"

    def odd_url(self, hint):
        """Look-alike or throwaway domains typical of phishing."""
        k = self.randrange(6)
        tld = self.pick(["top", "cc", "xyz", "icu", "vip", "shop", "club", "cyou", "work", "com.cn-" + self.alnum(3).lower() + ".com"])
        if k == 0:
            return f"{hint}-{self.pick(['vip', 'rz', 'kf', 'jf', 'gov', 'fw', 'hy'])}.{tld}"
        if k == 1:
            return f"{hint}{self.digits(2)}.{tld}"
        if k == 2:
            return f"http://{self.randint(39, 123)}.{self.randint(1, 254)}.{self.randint(1, 254)}.{self.randint(1, 254)}:{self.pick(['8080', '8888', '9000', '6688'])}"
        if k == 3:
            return f"{self.pick(['suo.im', 'dwz.mk', 'is.gd', 'tinyurl.com', 'u.nu', 'rb.gy'])}/{self.alnum(6)}"
        if k == 4:
            return f"www.{hint}{self.alnum(3).lower()}.{tld}"
        return f"{self.alnum(5).lower()}.{hint}-{self.pick(['cn', 'app', 'web'])}.{tld}"


def fw(s):
    """Full-width digits and ASCII letters (an obfuscation trick)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in s)


def brand_host(brand):
    return BRAND_HOSTS.get(brand)


OPTOUTS = ["回T退订", "退订回T", "拒收请回复R", "回TD退订", "退订回TD", "回复TD退订", "退订请回复T",
           "回N退订", "拒收请回R", "回T退", "退订回复T", "回复T退订", "如不想再收到此类信息请回复TD",
           "回复0000退订", "退订回N"]
SHORT_HOSTS = ["t.cn", "t.cn", "dwz.cn", "url.cn", "suo.nz"]

# Banks: name, hotline, short form used in text.
BANKS = [("招商银行", "95555"), ("工商银行", "95588"), ("中国工商银行", "95588"), ("建设银行", "95533"),
         ("中国建设银行", "95533"), ("农业银行", "95599"), ("中国银行", "95566"), ("交通银行", "95559"),
         ("邮储银行", "95580"), ("平安银行", "95511"), ("浦发银行", "95528"), ("中信银行", "95558"),
         ("光大银行", "95595"), ("民生银行", "95568"), ("兴业银行", "95561"), ("华夏银行", "95577"),
         ("广发银行", "95508"), ("宁波银行", "95574"), ("北京银行", "95526"), ("上海银行", "95594"),
         ("江苏银行", "95319"), ("微众银行", "95384"), ("浙商银行", "95527"), ("杭州银行", "95398")]
TELCOS = [("中国移动", "10086"), ("中国联通", "10010"), ("中国电信", "10000"), ("中国广电", "10099")]
APPS = ["支付宝", "微信支付", "淘宝", "天猫", "京东", "美团", "饿了么", "拼多多", "抖音", "快手", "小红书",
        "哔哩哔哩", "百度", "网易", "滴滴出行", "哈啰", "高德地图", "携程旅行", "去哪儿旅行", "飞猪", "铁路12306",
        "大众点评", "唯品会", "闲鱼", "得物", "知乎", "微博", "钉钉", "腾讯云", "阿里云", "华为", "小米", "OPPO",
        "vivo", "爱奇艺", "优酷", "腾讯视频", "喜马拉雅", "盒马", "叮咚买菜", "Keep", "贝壳找房", "58同城",
        "BOSS直聘", "智联招聘", "网易云音乐", "QQ音乐", "米哈游", "Soul", "陌陌", "航旅纵横", "同程旅行",
        "苏宁易购", "转转", "作业帮", "猿辅导", "雪球", "东方财富", "同花顺", "中国人寿寿险", "平安好车主",
        "掌上生活", "云闪付", "翼支付", "京东金融", "美团外卖", "货拉拉", "曹操出行", "T3出行"]
EN_APPS = ["Apple", "Microsoft", "Google", "Steam", "PayPal", "Airbnb", "Uber", "Tesla", "Starbucks", "LinkedIn",
           "TikTok", "Binance", "Booking.com", "Trip.com", "Lark", "Zoom", "Amazon", "Nintendo"]
GOV = ["国家政务服务平台", "个人所得税", "交管12123", "国家医保服务平台", "电子社保卡", "掌上公积金", "浙里办",
       "粤省事", "随申办", "一网通办", "北京通", "国家反诈中心", "学信网", "中国人民银行征信中心"]
COURIERS = [("顺丰速运", "SF", 13, "95338"), ("中通快递", "7", 14, "95311"), ("圆通速递", "YT", 13, "95554"),
            ("韵达快递", "43", 13, "95546"), ("申通快递", "77", 13, "95543"), ("京东物流", "JD", 13, "950616"),
            ("极兔速递", "JT", 13, "956025"), ("中国邮政", "98", 11, "11183"), ("EMS", "11", 11, "11183"),
            ("德邦快递", "DPK", 12, "95353")]
PICKUP = ["丰巢", "菜鸟驿站", "兔喜生活", "妈妈驿站", "中邮驿站", "熊猫快收", "近邻宝", "递管家"]
AIRLINES = [("中国国航", "CA"), ("东方航空", "MU"), ("南方航空", "CZ"), ("海南航空", "HU"), ("厦门航空", "MF"),
            ("深圳航空", "ZH"), ("四川航空", "3U"), ("春秋航空", "9C"), ("吉祥航空", "HO"), ("山东航空", "SC")]
AIRPORTS = ["北京首都", "北京大兴", "上海虹桥", "上海浦东", "广州白云", "深圳宝安", "成都天府", "成都双流",
            "杭州萧山", "重庆江北", "西安咸阳", "昆明长水", "武汉天河", "南京禄口", "厦门高崎", "长沙黄花", "三亚凤凰"]
STATIONS = ["北京南", "北京西", "上海虹桥", "广州南", "深圳北", "杭州东", "南京南", "成都东", "武汉", "西安北",
            "郑州东", "长沙南", "重庆北", "天津西", "济南西", "合肥南", "福州南", "厦门北", "昆明南", "贵阳北"]
HOTELS = ["汉庭酒店", "全季酒店", "如家酒店", "亚朵酒店", "锦江之星", "维也纳酒店", "希尔顿欢朋", "桔子水晶酒店",
          "丽枫酒店", "7天酒店", "华住会", "万豪酒店", "洲际酒店", "喜来登酒店"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "重庆", "西安", "苏州", "天津", "长沙",
          "郑州", "青岛", "厦门", "合肥", "济南", "福州", "昆明", "宁波", "无锡", "东莞", "佛山", "沈阳", "大连",
          "哈尔滨", "南宁", "贵阳", "南昌", "石家庄", "太原", "兰州", "海口", "温州", "珠海"]
COMMUNITIES = ["阳光花园", "翠湖小区", "万科城", "碧桂园", "保利花园", "龙湖春江郦城", "金地格林", "幸福里",
               "绿城桂花园", "华润城", "恒大名都", "锦绣江南", "世纪新城", "御景湾", "融创壹号院", "中海国际社区",
               "东方明珠苑", "和平里", "望京西园", "天通苑", "长江花园", "滨江华府", "学府花园", "科技园小区"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "艳", "杰", "涛", "明", "超", "秀英", "建华", "志强", "丽娟", "海燕"]
BRAND_HOSTS = {"京东": "u.jd.com", "淘宝": "m.tb.cn", "天猫": "m.tb.cn", "美团": "dpurl.cn", "中国移动": "s.10086.cn",
               "招商银行": "cmbt.cn", "拼多多": "p.pinduoduo.com", "饿了么": "u.ele.me", "唯品会": "vip.com",
               "苏宁易购": "suning.com", "携程旅行": "ctrip.cn", "飞猪": "m.tb.cn", "中国联通": "u.10010.cn",
               "中国电信": "189.cn", "肯德基": "kfc.com.cn", "麦当劳": "mcd.cn", "星巴克": "starbucks.com.cn",
               "瑞幸咖啡": "lkcoffee.com", "华为商城": "vmall.com", "小米商城": "mi.com", "屈臣氏": "watsons.com.cn"}
