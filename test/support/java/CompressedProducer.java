import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes records "codec-0".."codec-(count-1)" to partition 0 of a topic with the Java client and
 * one compression codec, as a producer outside the project would. Run as a single-file program:
 * java -cp 'kafka-libs/*' CompressedProducer.java bootstrap topic codec count
 */
public class CompressedProducer {
  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      System.err.println("usage: CompressedProducer <bootstrap> <topic> <gzip|snappy|lz4|zstd> <count>");
      System.exit(2);
    }
    String codec = args[2];
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    // Few large batches: each compressed record batch then holds many records.
    props.put(ProducerConfig.LINGER_MS_CONFIG, "50");
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, "1048576");
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      int count = Integer.parseInt(args[3]);
      for (int i = 0; i < count; i++) {
        producer.send(new ProducerRecord<>(args[1], 0, String.valueOf(i), codec + "-" + i));
      }
      producer.flush();
    }
  }
}
